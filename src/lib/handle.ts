/**
 * The handle {@linkcode serve} returns: the server's own handle plus transcripts, waiting for
 * sessions, and reloading from config text.
 *
 * @module
 */
import type { Config } from "../config/types.ts";
import type { ServerHandle } from "../server/types.ts";
import { compileSource, type ServeSource } from "./source.ts";
import type { Transcript, TranscriptLog } from "./transcript.ts";
import type { SessionLogs } from "../log/session_logs.ts";

/**
 * Options for {@linkcode StreamEchoServer.waitForSessions}.
 *
 * @example Give up quickly when no client comes
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "@stream-echo/stream-echo";
 *
 * await using server = await serve({ server: "echo hi;" });
 * await assert.rejects(server.waitForSessions(1, { timeout: 20 }), Deno.errors.TimedOut);
 * ```
 */
export interface WaitForSessionsOptions {
  /** Give up after this many milliseconds. @default {5000} */
  timeout?: number;
}

/** Default for {@linkcode WaitForSessionsOptions.timeout}. */
const DEFAULT_WAIT_MS = 5000;

/**
 * A running stream-echo server, as returned by {@linkcode serve}. `A` is the address type of its
 * listeners: `Deno.NetAddr` for a server started from a body, any `Deno.Addr` for a full
 * config (which may have Unix listeners).
 *
 * @example Wait for sessions, reload, stop
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "@stream-echo/stream-echo";
 *
 * const server = await serve({ server: "echo one;" });
 * const { port } = server.addrs[0];
 * const fetchLine = async () => {
 *   const conn = await Deno.connect({ hostname: "127.0.0.1", port });
 *   return await new Response(conn.readable).text();
 * };
 * assert.equal(await fetchLine(), "one\n");
 *
 * await server.reload({ server: "echo two;" }); // same rules as SIGHUP; same port
 * assert.equal(server.addrs[0].port, port);
 * assert.equal(await fetchLine(), "two\n");
 *
 * const transcripts = await server.waitForSessions(2);
 * assert.ok(transcripts.every((t) => t.end === "eof"));
 * assert.equal(server.transcripts().length, 2);
 * await server.shutdown();
 * ```
 */
export class StreamEchoServer<A extends Deno.Addr = Deno.Addr> implements AsyncDisposable {
  #server: ServerHandle;
  #log: TranscriptLog;
  #tcpOnly: boolean;
  /** What pending waits do when the server stops; each removes itself when it settles. */
  #onStop = new Set<() => void>();
  #stopped = false;
  #files: SessionLogs | undefined;
  #finished: Promise<void>;

  /**
   * @internal Use {@linkcode serve}. `files` writes the config's `access_log` and `echo_record`
   * files; they are flushed and closed once the server has finished.
   */
  constructor(server: ServerHandle, log: TranscriptLog, tcpOnly: boolean, files?: SessionLogs) {
    this.#server = server;
    this.#log = log;
    this.#tcpOnly = tcpOnly;
    this.#files = files;
    this.#finished = files
      ? server.finished.then(() => files.close(), () => files.close())
      : server.finished;
    // One handler for the server's whole life, however many waits come and go.
    const stopped = () => {
      this.#stopped = true;
      for (const f of [...this.#onStop]) f();
    };
    server.finished.then(stopped, stopped);
  }

  /** Addresses actually bound (port 0 resolved), in config order; updated by reloads. */
  get addrs(): A[] {
    return this.#server.addrs as A[];
  }

  /**
   * Resolves when the server has stopped, every session has ended, and the config's access log
   * and recording files have been written and closed.
   */
  get finished(): Promise<void> {
    return this.#finished;
  }

  /**
   * Transcripts held, in the order their sessions ended: those that ended since the start or
   * the last {@linkcode takeTranscripts}, at most `maxTranscripts` (the newest). Empty with
   * `record: false`.
   */
  transcripts(): Transcript[] {
    return this.#log.list();
  }

  /**
   * Hands over the transcripts held (as {@linkcode transcripts} would list them) and clears
   * them, so a long-running server keeps only what came since. {@linkcode waitForSessions}
   * then counts from zero again.
   *
   * @example Take what the first client did, then wait for the next one
   * ```ts
   * import assert from "node:assert/strict";
   * import { serve } from "@stream-echo/stream-echo";
   *
   * await using server = await serve({ server: "echo hi;" });
   * const visit = async () => {
   *   const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
   *   await new Response(conn.readable).text();
   * };
   * await visit();
   * await server.waitForSessions(1);
   * assert.equal(server.takeTranscripts().length, 1);
   * assert.deepEqual(server.transcripts(), []);
   * await visit();
   * const [second] = await server.waitForSessions(1);
   * assert.equal(second.id, 2);
   * ```
   */
  takeTranscripts(): Transcript[] {
    return this.#log.take();
  }

  /**
   * Transcripts dropped since the start because `maxTranscripts` were already held (the oldest
   * goes first).
   *
   * @example A server that holds the last two transcripts
   * ```ts
   * import assert from "node:assert/strict";
   * import { serve } from "@stream-echo/stream-echo";
   *
   * await using server = await serve({ server: "echo hi;", maxTranscripts: 2 });
   * for (let i = 0; i < 3; i++) {
   *   const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
   *   await new Response(conn.readable).text();
   * }
   * await server.waitForSessions(2);
   * while (server.endedSessions < 3) await new Promise((r) => setTimeout(r, 5));
   * assert.deepEqual(server.transcripts().map((t) => t.id), [2, 3]);
   * assert.equal(server.droppedTranscripts, 1);
   * ```
   */
  get droppedTranscripts(): number {
    return this.#log.dropped;
  }

  /** Sessions that have ended since the server started (recorded or not, held or not). */
  get endedSessions(): number {
    return this.#log.total;
  }

  /**
   * Waits until `n` sessions have ended (since the start or the last {@linkcode takeTranscripts})
   * and resolves with the oldest `n` transcripts held; with `record: false` nothing is held and
   * it resolves with an empty list. Rejects with `Deno.errors.TimedOut` after `timeout` ms, with
   * an `Error` if the server stops with fewer sessions, and with a `RangeError` when `n` is more
   * than `maxTranscripts`.
   */
  waitForSessions(n: number, options: WaitForSessionsOptions = {}): Promise<Transcript[]> {
    const timeout = options.timeout ?? DEFAULT_WAIT_MS;
    if (!Number.isSafeInteger(n) || n < 0) {
      return Promise.reject(
        new RangeError(`waitForSessions() needs a whole number >= 0, got ${n}`),
      );
    }
    if (!(timeout >= 0)) {
      return Promise.reject(
        new RangeError(`waitForSessions() timeout must be >= 0 ms, got ${timeout}`),
      );
    }
    const log = this.#log;
    if (log.capacity > 0 && n > log.capacity) {
      return Promise.reject(
        new RangeError(
          `waitForSessions(${n}): at most ${log.capacity} transcripts are held (maxTranscripts)`,
        ),
      );
    }
    const wait = log.whenCount(n);
    if (log.count >= n) return wait.promise;
    const { promise, resolve, reject } = Promise.withResolvers<Transcript[]>();
    let done = false;
    const settle = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      wait.cancel();
      this.#onStop.delete(stopped);
      fn();
    };
    const timer = setTimeout(() =>
      settle(() =>
        reject(
          new Deno.errors.TimedOut(
            `waitForSessions(${n}) timed out after ${timeout} ms: ` +
              `${log.count} session(s) ended` +
              (log.inFlight === undefined ? "" : `, ${log.inFlight} still running`),
          ),
        )
      ), timeout);
    wait.promise.then((list) => settle(() => resolve(list)));
    const stopped = () =>
      settle(() => {
        // Sessions report their end before `finished` resolves.
        if (log.count >= n) resolve(log.list().slice(0, n));
        else {
          reject(
            new Error(
              `waitForSessions(${n}): the server stopped after ${log.count} session(s) ended`,
            ),
          );
        }
      });
    if (this.#stopped) queueMicrotask(stopped);
    else this.#onStop.add(stopped);
    return promise;
  }

  /**
   * Loads a new config with the same rules as SIGHUP: a bad config rejects with ConfigError and
   * the old one keeps serving; a good one keeps listeners whose address is unchanged, opens new
   * ones and closes removed ones; sessions in flight finish under the config they started with.
   */
  async reload(source: ServeSource): Promise<void> {
    const config = compileSource(source, "reload()");
    if (this.#tcpOnly) assertTcpOnly(config);
    await this.#files?.open(config); // a file that cannot be opened fails the reload
    await this.#server.reload(config);
    await this.#files?.retire(config);
  }

  /** Graceful: stop accepting, let sessions finish (capped by `worker_shutdown_timeout`). */
  async shutdown(): Promise<void> {
    await this.#server.shutdown();
    await this.#finished;
  }

  /** Fast: stop accepting and end every session now (their transcripts end in "shutdown"). */
  async close(): Promise<void> {
    await this.#server.close();
    await this.#finished;
  }

  /**
   * `await using` closes the server fast, so a test never hangs on a session still running
   * (an `echo_sleep`, a lingering close); call {@linkcode shutdown} first to let them finish.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function assertTcpOnly(config: Config): void {
  for (const s of config.servers) {
    for (const l of s.listen) {
      if (l.kind !== "tcp") {
        throw new TypeError(
          `a server started from a body listens on TCP only; cannot reload to "${l.address}" ` +
            `(${l.pos.file}:${l.pos.line})`,
        );
      }
    }
  }
}
