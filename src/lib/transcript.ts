/**
 * Transcripts: what each client sent and was sent, recorded by a {@linkcode SessionObserver}
 * whose `wrap` puts taps in front of the session's streams. The engine is not involved, and
 * a server started without this observer (the CLI) records nothing.
 *
 * @module
 */
import type { SessionEnd, SessionIO, SessionResult } from "../engine/types.ts";
import type { SessionInfo, SessionObserver } from "../server/types.ts";
import { ByteRecorder } from "./byte_recorder.ts";
import { tapReadable, tapWritable } from "./tap.ts";

/**
 * What one finished session looked like from the server's side.
 *
 * @example Check what a client sent and how the session ended
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve, type Transcript } from "@stream-echo/stream-echo";
 *
 * await using server = await serve({ server: "echo_read_bytes 4; echo_request_data;" });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
 * await conn.write(new TextEncoder().encode("ping"));
 * await new Response(conn.readable).text();
 * const [t]: Transcript[] = await server.waitForSessions(1);
 * assert.equal(new TextDecoder().decode(t.received), "ping");
 * assert.equal(new TextDecoder().decode(t.sent), "ping");
 * assert.deepEqual(t.truncated, { received: false, sent: false });
 * assert.equal(t.end, "eof");
 * assert.ok(t.endedAt >= t.startedAt);
 * ```
 */
export interface Transcript {
  /** Connection number, as in log lines (`*N`). */
  id: number;
  /** Index of the server block (in the config's order) that served it. */
  serverIndex: number;
  /** The client's address. */
  remoteAddr: Deno.Addr;
  /** The listener's address the client connected to. */
  localAddr: Deno.Addr;
  /**
   * Bytes the server read from the client. Reads fill the reading buffer, so this may hold bytes
   * past what a read step claimed; input the server never read (left in the socket) is not here.
   */
  received: Uint8Array;
  /** Bytes the server handed to the socket. */
  sent: Uint8Array;
  /** Which direction hit `maxTranscriptBytes` (the bytes beyond it are not kept). */
  truncated: { received: boolean; sent: boolean };
  /** How the session ended. */
  end: SessionEnd;
  /** Why, for ends other than "eof" (the message the server logged). */
  reason?: string;
  /** When the connection was accepted. */
  startedAt: Date;
  /** When the session ended. */
  endedAt: Date;
}

/** Options for {@linkcode TranscriptLog}. */
export interface TranscriptLogOptions {
  /** Most bytes kept per direction per session. @default {1048576} */
  maxBytes?: number;
  /** Record bytes at all; when false only ends, times and addresses are kept. @default {true} */
  record?: boolean;
}

interface Waiter {
  n: number;
  resolve(list: Transcript[]): void;
}

interface Live {
  received: ByteRecorder;
  sent: ByteRecorder;
}

/** 1 MiB: the default cap per direction per session. */
export const DEFAULT_MAX_TRANSCRIPT_BYTES = 1024 * 1024;

/** Collects transcripts of finished sessions, in the order they ended. */
export class TranscriptLog {
  #maxBytes: number;
  #live = new Map<number, Live>();
  #done: Transcript[] = [];
  #waiters = new Set<Waiter>();
  /** The observer to hand to the server. */
  readonly observer: SessionObserver;

  constructor(options: TranscriptLogOptions = {}) {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_TRANSCRIPT_BYTES;
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(`maxTranscriptBytes must be a whole number >= 0, got ${maxBytes}`);
    }
    this.#maxBytes = maxBytes;
    const ended = this.#ended.bind(this);
    this.observer = options.record === false ? { ended } : { wrap: this.#wrap.bind(this), ended };
  }

  /** Sessions that have ended so far. */
  get count(): number {
    return this.#done.length;
  }

  /** Sessions running right now; undefined when not recording (sessions are then not wrapped). */
  get inFlight(): number | undefined {
    return this.observer.wrap ? this.#live.size : undefined;
  }

  /** Transcripts of the sessions that have ended so far (a copy of the list). */
  list(): Transcript[] {
    return this.#done.slice();
  }

  /** Resolves with the first `n` transcripts once `n` sessions have ended. */
  whenCount(n: number): { promise: Promise<Transcript[]>; cancel(): void } {
    if (this.#done.length >= n) {
      return { promise: Promise.resolve(this.#done.slice(0, n)), cancel() {} };
    }
    const { promise, resolve } = Promise.withResolvers<Transcript[]>();
    const waiter: Waiter = { n, resolve };
    this.#waiters.add(waiter);
    return { promise, cancel: () => this.#waiters.delete(waiter) };
  }

  #wrap(io: SessionIO, info: SessionInfo): SessionIO {
    const live: Live = {
      received: new ByteRecorder(this.#maxBytes),
      sent: new ByteRecorder(this.#maxBytes),
    };
    this.#live.set(info.id, live);
    const out = tapWritable(io.writable, (c) => live.sent.add(c));
    // Everything but the two streams passes through as it is (`reset`, and any later member).
    const wrapped: SessionIO = {
      ...io,
      readable: tapReadable(io.readable, (c) => live.received.add(c)),
      writable: out.writable,
      close: () => io.close(),
    };
    if (io.reset) wrapped.reset = () => io.reset!();
    const closeWrite = io.closeWrite?.bind(io);
    if (closeWrite) {
      // "FIN after everything written so far": let what waits in the tap reach the socket first.
      wrapped.closeWrite = () => out.settled().then(closeWrite);
    }
    return wrapped;
  }

  #ended(info: SessionInfo, result: SessionResult, startedAt: Date, endedAt: Date): void {
    const live = this.#live.get(info.id);
    this.#live.delete(info.id);
    const t: Transcript = {
      id: info.id,
      serverIndex: info.serverIndex,
      remoteAddr: info.remoteAddr,
      localAddr: info.localAddr,
      received: live ? live.received.bytes() : new Uint8Array(0),
      sent: live ? live.sent.bytes() : new Uint8Array(0),
      truncated: {
        received: live?.received.truncated ?? false,
        sent: live?.sent.truncated ?? false,
      },
      end: result.end,
      startedAt,
      endedAt,
    };
    if (result.reason !== undefined) t.reason = result.reason;
    this.#done.push(t);
    for (const w of this.#waiters) {
      if (this.#done.length >= w.n) {
        this.#waiters.delete(w);
        w.resolve(this.#done.slice(0, w.n));
      }
    }
  }
}
