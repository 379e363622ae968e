/**
 * `serve()`: start a scripted server from config text inside a program or test, and get back a
 * handle that also keeps transcripts of finished sessions.
 *
 * @module
 */
import type { Config } from "../config/types.ts";
import type { Logger } from "../log/logger.ts";
import { quietLogger } from "../log/logger.ts";
import type { ServerHandle, ServerOptions } from "../server/types.ts";
import { startServer } from "../server/server.ts";
import {
  compileSource,
  type ConfigSource,
  type ServerBodySource,
  type ServeSource,
} from "./source.ts";
import { type Transcript, TranscriptLog } from "./transcript.ts";

/** Options every form of {@linkcode serve} takes. */
export interface ServeCommonOptions {
  /** Aborting it closes the server fast, like {@linkcode StreamEchoServer.close}. */
  signal?: AbortSignal;
  /** Called once every listener is bound, with the addresses actually bound. */
  onListen?: (addrs: Deno.Addr[]) => void;
  /** Where the server logs (nginx's error-log lines). @default {quietLogger} */
  logger?: Logger;
  /** Most bytes a transcript keeps per direction per session. @default {1048576} */
  maxTranscriptBytes?: number;
  /** Record the bytes of each session; false keeps only ends, times and addresses. @default {true} */
  record?: boolean;
}

/** {@linkcode serve} with full config text. */
export type ServeConfigOptions = ConfigSource & ServeCommonOptions;
/** {@linkcode serve} with the body of one server block, listening on 127.0.0.1:0. */
export type ServeServerOptions = ServerBodySource & ServeCommonOptions;
/** Everything {@linkcode serve} takes. */
export type ServeOptions = ServeConfigOptions | ServeServerOptions;

/** Options for {@linkcode StreamEchoServer.waitForSessions}. */
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
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`waitForSessions() needs a whole number >= 0, got ${n}`);
    }
    const timeout = options.timeout ?? DEFAULT_WAIT_MS;
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
              `${log.count} session(s) ended, ${log.inFlight} still running`,
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

/**
 * Starts a scripted server and resolves once every listener is bound.
 *
 * - `{ server: BODY }`: the directives of one `server {}` block; it listens on 127.0.0.1 on a
 *   free port (`addrs[0].port`). Line N of the body is line N in error messages.
 * - `{ config: TEXT, file? }`: a full config, as in a config file; `file` names it in error
 *   messages and is where `include` paths are resolved from.
 *
 * Every session is recorded (capped by `maxTranscriptBytes` per direction) unless `record` is
 * false. Logs go to `logger` (default: none); the library never prints and never exits.
 * Rejects with {@linkcode ConfigError} (file, line, message) for a bad config and with
 * `ListenError` when an address cannot be bound.
 *
 * @example Mock a memcached server and check what the client asked for
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "@stream-echo/stream-echo";
 *
 * await using server = await serve({
 *   server: String.raw`echo_read_line; echo -n "VALUE foo 0 3\r\nbar\r\nEND\r\n";`,
 * });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
 * await conn.write(new TextEncoder().encode("get foo\r\n"));
 * const reply = await new Response(conn.readable).text();
 * assert.equal(reply, "VALUE foo 0 3\r\nbar\r\nEND\r\n");
 *
 * const [t] = await server.waitForSessions(1, { timeout: 2000 });
 * assert.equal(new TextDecoder().decode(t.received), "get foo\r\n");
 * assert.equal(t.sent.byteLength, reply.length);
 * ```
 *
 * @example A full config, stopped by an AbortSignal
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "@stream-echo/stream-echo";
 *
 * const controller = new AbortController();
 * const server = await serve({
 *   config: "stream {\n  server {\n    listen 127.0.0.1:0;\n    echo hello;\n  }\n}\n",
 *   file: "mock.conf",
 *   signal: controller.signal,
 *   onListen: (addrs) => assert.equal(addrs.length, 1),
 * });
 * controller.abort();
 * await server.finished;
 * ```
 *
 * @example A bad config rejects with the file and line
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError, serve } from "@stream-echo/stream-echo";
 *
 * const err = await serve({ server: "echo ok;\necho_sleep;" }).catch((e) => e);
 * assert.ok(err instanceof ConfigError);
 * assert.equal(err.message, 'invalid number of arguments in "echo_sleep" directive in <server>:2');
 * ```
 */
export function serve(options: ServeServerOptions): Promise<StreamEchoServer<Deno.NetAddr>>;
/** Starts a server from full config text (TCP and Unix listeners). See the first overload. */
export function serve(options: ServeConfigOptions): Promise<StreamEchoServer<Deno.Addr>>;
/** Starts a server from either form of options. See the first overload. */
export function serve(options: ServeOptions): Promise<StreamEchoServer<Deno.Addr>>;
export async function serve(options: ServeOptions): Promise<StreamEchoServer<Deno.Addr>> {
  const config = compileSource(options);
  const logOptions: { maxBytes?: number; record?: boolean } = {};
  if (options.maxTranscriptBytes !== undefined) logOptions.maxBytes = options.maxTranscriptBytes;
  if (options.record !== undefined) logOptions.record = options.record;
  const log = new TranscriptLog(logOptions);
  const serverOptions: ServerOptions = {
    logger: options.logger ?? quietLogger,
    observer: log.observer,
  };
  if (options.signal) serverOptions.signal = options.signal;
  if (options.onListen) serverOptions.onListen = options.onListen;
  const server = await startServer(config, serverOptions);
  return new StreamEchoServer(server, log, typeof options.server === "string");
}
