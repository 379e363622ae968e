/**
 * `serve()`: start a scripted server from config text inside a program or test, and get back a
 * handle that also keeps transcripts of finished sessions.
 *
 * @module
 */
import type { Logger } from "../log/logger.ts";
import { quietLogger } from "../log/logger.ts";
import type { ServerOptions, SessionObserver } from "../server/types.ts";
import { openSessionFile, SessionLogs } from "../log/session_logs.ts";
import { startServer } from "../server/server.ts";
import { compileSource, type ConfigSource, type ServerBodySource } from "./source.ts";
import { TranscriptLog, type TranscriptLogOptions } from "./transcript.ts";
import { StreamEchoServer } from "./handle.ts";

/**
 * Options every form of {@linkcode serve} takes.
 *
 * @example Log to an array, keep at most 16 bytes per direction
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger, serve } from "@stream-echo/stream-echo";
 *
 * const lines: string[] = [];
 * await using server = await serve({
 *   server: "echo_duplicate 100 x;",
 *   logger: createLogger((line) => lines.push(line), { level: "info" }),
 *   maxTranscriptBytes: 16,
 * });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
 * assert.equal((await new Response(conn.readable).text()).length, 100);
 * const [t] = await server.waitForSessions(1);
 * assert.equal(t.sent.byteLength, 16);
 * assert.equal(t.truncated.sent, true);
 * assert.ok(lines.some((l) => l.includes("[info]")));
 * ```
 */
export interface ServeCommonOptions {
  /** Aborting it closes the server fast, like {@linkcode StreamEchoServer.close}. */
  signal?: AbortSignal;
  /** Called once every listener is bound, with the addresses actually bound. */
  onListen?: (addrs: Deno.Addr[]) => void;
  /** Where the server logs (nginx's error-log lines). @default {quietLogger} */
  logger?: Logger;
  /** Most bytes a transcript keeps per direction per session. @default {1048576} */
  maxTranscriptBytes?: number;
  /**
   * Most finished transcripts held. Beyond it the oldest is dropped and counted
   * ({@linkcode StreamEchoServer.droppedTranscripts}); {@linkcode StreamEchoServer.takeTranscripts}
   * empties the list. @default {500}
   */
  maxTranscripts?: number;
  /**
   * Record sessions. False keeps nothing at all per session (no transcript; the streams are not
   * wrapped): only {@linkcode StreamEchoServer.endedSessions} counts them. @default {true}
   */
  record?: boolean;
}

/**
 * {@linkcode serve} with full config text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ServeConfigOptions, serve } from "@stream-echo/stream-echo";
 *
 * const options: ServeConfigOptions = {
 *   config: "stream { server { listen 127.0.0.1:0; echo hi; } }",
 *   record: false,
 * };
 * await using server = await serve(options);
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: (server.addrs[0] as Deno.NetAddr).port });
 * assert.equal(await new Response(conn.readable).text(), "hi\n");
 * ```
 */
export type ServeConfigOptions = ConfigSource & ServeCommonOptions;
/**
 * {@linkcode serve} with the body of one server block, listening on 127.0.0.1:0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve, type ServeServerOptions } from "@stream-echo/stream-echo";
 *
 * const options: ServeServerOptions = { server: "echo hi;", signal: AbortSignal.timeout(5000) };
 * await using server = await serve(options);
 * assert.equal(server.addrs[0].hostname, "127.0.0.1");
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
 * assert.equal(await new Response(conn.readable).text(), "hi\n");
 * ```
 */
export type ServeServerOptions = ServerBodySource & ServeCommonOptions;
/**
 * Everything {@linkcode serve} takes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve, type ServeOptions } from "@stream-echo/stream-echo";
 *
 * const mocks: ServeOptions[] = [{ server: "echo a;" }, { server: "echo b;" }];
 * const servers = await Promise.all(mocks.map((m) => serve(m)));
 * const replies = await Promise.all(servers.map(async (s) => {
 *   const conn = await Deno.connect({ hostname: "127.0.0.1", port: (s.addrs[0] as Deno.NetAddr).port });
 *   return await new Response(conn.readable).text();
 * }));
 * assert.deepEqual(replies, ["a\n", "b\n"]);
 * await Promise.all(servers.map((s) => s.close()));
 * ```
 */
export type ServeOptions = ServeConfigOptions | ServeServerOptions;

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
 * Rejects with {@linkcode ConfigError} (file, line, message) for a bad config, with
 * `ListenError` when an address cannot be bound, and with an error naming the directive when a
 * file of `access_log` or `echo_record` cannot be opened. Those files are written as by the
 * CLI, and flushed and closed once the server has finished.
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
  const config = compileSource(options, "serve()");
  const logOptions: TranscriptLogOptions = {};
  if (options.maxTranscriptBytes !== undefined) logOptions.maxBytes = options.maxTranscriptBytes;
  if (options.maxTranscripts !== undefined) logOptions.maxTranscripts = options.maxTranscripts;
  if (options.record !== undefined) logOptions.record = options.record;
  const log = new TranscriptLog(logOptions);
  const logger = options.logger ?? quietLogger;
  // The config's access_log and echo_record files (none: nothing is opened or written).
  const files = new SessionLogs({
    openSink: (path, tuning) => openSessionFile(path, tuning, logger),
    logger,
  });
  await files.open(config);
  const serverOptions: ServerOptions = {
    logger,
    observer: both(log.observer, files.observer),
  };
  if (options.signal) serverOptions.signal = options.signal;
  if (options.onListen) serverOptions.onListen = options.onListen;
  let server;
  try {
    server = await startServer(config, serverOptions);
  } catch (err) {
    await files.close();
    throw err;
  }
  return new StreamEchoServer(server, log, typeof options.server === "string", files);
}

/** One observer doing what `a` then `b` do: `b` wraps what `a` wrapped; both see each end. */
function both(a: SessionObserver, b: SessionObserver): SessionObserver {
  return {
    wrap(io, info) {
      const inner = a.wrap ? a.wrap(io, info) : io;
      return b.wrap ? b.wrap(inner, info) : inner;
    },
    ended(info, result, startedAt, endedAt) {
      try {
        a.ended?.(info, result, startedAt, endedAt);
      } finally {
        b.ended?.(info, result, startedAt, endedAt);
      }
    },
  };
}
