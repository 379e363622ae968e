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
import { tapSession } from "./tap.ts";

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
  /** Most finished transcripts held; older ones are dropped (and counted). @default {500} */
  maxTranscripts?: number;
  /**
   * Record sessions at all. False keeps nothing per session (no transcript, no bytes; the
   * streams are not wrapped): only the counts. @default {true}
   */
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

/** The default number of finished transcripts held. */
export const DEFAULT_MAX_TRANSCRIPTS = 500;

/**
 * Collects transcripts of finished sessions, in the order they ended: at most `maxTranscripts`
 * of them (the oldest are dropped and counted), until taken.
 */
export class TranscriptLog {
  #maxBytes: number;
  #maxHeld: number;
  #record: boolean;
  #live = new Map<number, Live>();
  #held: Transcript[] = [];
  #sinceTake = 0;
  #total = 0;
  #dropped = 0;
  #waiters = new Set<Waiter>();
  /** The observer to hand to the server. */
  readonly observer: SessionObserver;

  constructor(options: TranscriptLogOptions = {}) {
    this.#maxBytes = wholeNumber(
      "maxTranscriptBytes",
      options.maxBytes,
      DEFAULT_MAX_TRANSCRIPT_BYTES,
    );
    this.#maxHeld = wholeNumber("maxTranscripts", options.maxTranscripts, DEFAULT_MAX_TRANSCRIPTS);
    this.#record = options.record !== false;
    const ended = this.#ended.bind(this);
    this.observer = this.#record ? { wrap: this.#wrap.bind(this), ended } : { ended };
  }

  /** Sessions that have ended since the start or the last {@linkcode take} (held or not). */
  get count(): number {
    return this.#sinceTake;
  }

  /** Sessions that have ended since the start. */
  get total(): number {
    return this.#total;
  }

  /** Transcripts dropped since the start because `maxTranscripts` were already held. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Most transcripts held, or 0 when not recording. */
  get capacity(): number {
    return this.#record ? this.#maxHeld : 0;
  }

  /** Sessions running right now; undefined when not recording (sessions are then not wrapped). */
  get inFlight(): number | undefined {
    return this.observer.wrap ? this.#live.size : undefined;
  }

  /** The transcripts held (a copy of the list), oldest first. */
  list(): Transcript[] {
    return this.#held.slice();
  }

  /** Hands over the transcripts held, oldest first, and starts counting again from zero. */
  take(): Transcript[] {
    const held = this.#held;
    this.#held = [];
    this.#sinceTake = 0;
    return held;
  }

  /**
   * Resolves with the oldest `n` transcripts held once `n` sessions have ended since the start
   * or the last {@linkcode take} (with an empty list when not recording).
   */
  whenCount(n: number): { promise: Promise<Transcript[]>; cancel(): void } {
    if (this.#sinceTake >= n) {
      return { promise: Promise.resolve(this.#held.slice(0, n)), cancel() {} };
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
    return tapSession(io, (c) => live.received.add(c), (c) => live.sent.add(c));
  }

  #ended(info: SessionInfo, result: SessionResult, startedAt: number, endedAt: number): void {
    this.#total++;
    this.#sinceTake++;
    if (this.#record) this.#keep(this.#transcript(info, result, startedAt, endedAt));
    if (this.#waiters.size === 0) return;
    for (const w of this.#waiters) {
      if (this.#sinceTake >= w.n) {
        this.#waiters.delete(w);
        w.resolve(this.#held.slice(0, w.n));
      }
    }
  }

  #keep(t: Transcript): void {
    if (this.#maxHeld === 0) {
      this.#dropped++;
      return;
    }
    if (this.#held.length >= this.#maxHeld) {
      this.#held.shift();
      this.#dropped++;
    }
    this.#held.push(t);
  }

  #transcript(
    info: SessionInfo,
    result: SessionResult,
    startedAt: number,
    endedAt: number,
  ): Transcript {
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
      startedAt: new Date(startedAt),
      endedAt: new Date(endedAt),
    };
    if (result.reason !== undefined) t.reason = result.reason;
    return t;
  }
}

function wholeNumber(name: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${name} must be a whole number >= 0, got ${n}`);
  }
  return n;
}
