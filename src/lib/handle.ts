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

  /** @internal Use {@linkcode serve}. */
  constructor(server: ServerHandle, log: TranscriptLog, tcpOnly: boolean) {
    this.#server = server;
    this.#log = log;
    this.#tcpOnly = tcpOnly;
  }

  /** Addresses actually bound (port 0 resolved), in config order; updated by reloads. */
  get addrs(): A[] {
    return this.#server.addrs as A[];
  }

  /** Resolves when the server has stopped and every session has ended. */
  get finished(): Promise<void> {
    return this.#server.finished;
  }

  /** Transcripts of the sessions that have ended so far, in the order they ended. */
  transcripts(): Transcript[] {
    return this.#log.list();
  }

  /**
   * Waits until `n` sessions have ended and resolves with the first `n` transcripts. Rejects
   * with `Deno.errors.TimedOut` after `timeout` ms, or with an `Error` if the server stops with
   * fewer sessions.
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
    const wait = log.whenCount(n);
    if (log.count >= n) return wait.promise;
    const { promise, resolve, reject } = Promise.withResolvers<Transcript[]>();
    let done = false;
    const settle = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      wait.cancel();
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
    this.#server.finished.then(stopped, stopped);
    return promise;
  }

  /**
   * Loads a new config with the same rules as SIGHUP: a bad config rejects with ConfigError and
   * the old one keeps serving; a good one keeps listeners whose address is unchanged, opens new
   * ones and closes removed ones; sessions in flight finish under the config they started with.
   */
  async reload(source: ServeSource): Promise<void> {
    const config = compileSource(source);
    if (this.#tcpOnly) assertTcpOnly(config);
    await this.#server.reload(config);
  }

  /** Graceful: stop accepting, let sessions finish (capped by `worker_shutdown_timeout`). */
  shutdown(): Promise<void> {
    return this.#server.shutdown();
  }

  /** Fast: stop accepting and end every session now (their transcripts end in "shutdown"). */
  close(): Promise<void> {
    return this.#server.close();
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
