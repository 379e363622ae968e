/**
 * stream-echo as a library: a scripted TCP server in one line of a test, with a transcript of
 * what each client sent and was sent.
 *
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "@stream-echo/stream-echo";
 *
 * await using server = await serve({ server: 'echo_read_line; echo "+OK";' });
 * const { port } = server.addrs[0];
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port });
 * await conn.write(new TextEncoder().encode("PING\r\n"));
 * const reply = await new Response(conn.readable).text();
 * assert.equal(reply, "+OK\n");
 *
 * const [t] = await server.waitForSessions(1);
 * assert.equal(new TextDecoder().decode(t.received), "PING\r\n");
 * assert.equal(t.end, "eof");
 * ```
 *
 * What a server keeps is bounded: at most `maxTranscripts` finished transcripts (default 500;
 * the oldest is dropped and counted in `droppedTranscripts`), each at most `maxTranscriptBytes`
 * per direction; `takeTranscripts()` hands them over and frees them, and `record: false` keeps
 * nothing at all per session. `await using` closes a server fast (call `shutdown()` first to let
 * sessions finish).
 *
 * @module
 */
import type { Config } from "./src/config/types.ts";
import { parseConfig as parseConfigText } from "./src/config/loader.ts";

export { serve } from "./src/lib/serve.ts";
export type {
  ServeCommonOptions,
  ServeConfigOptions,
  ServeOptions,
  ServeServerOptions,
} from "./src/lib/serve.ts";
export { StreamEchoServer } from "./src/lib/handle.ts";
export type { WaitForSessionsOptions } from "./src/lib/handle.ts";
export type { ConfigSource, ServerBodySource, ServeSource } from "./src/lib/source.ts";
export type { Transcript } from "./src/lib/transcript.ts";
export type { SessionEnd } from "./src/engine/types.ts";
export { ConfigError, type ConfigErrorOptions } from "./src/config/errors.ts";
export { ListenError } from "./src/server/listen_error.ts";
export { LogFileOpenError } from "./src/log/log_file_error.ts";
export { createLogger, quietLogger } from "./src/log/logger.ts";
export type {
  LogContext,
  Logger,
  LoggerOptions,
  LogLevel,
  LogLineFormat,
} from "./src/log/logger.ts";
export type {
  AccessLogTarget,
  BreakStep,
  CaptureRef,
  ClearRequestStep,
  ClientErrorLogLevel,
  CloseStep,
  Config,
  ConfigNotice,
  DiscardRequestStep,
  DuplicateStep,
  DuplicateTemplateStep,
  EchoSettings,
  EchoStep,
  EchoTemplateStep,
  ErrorLogTarget,
  FlushStep,
  FlushWaitStep,
  LingeringClose,
  Listen,
  ListenBase,
  LogEscape,
  LogFileTarget,
  LogFormat,
  LogFormatPart,
  LoopStep,
  MainSettings,
  MatchBranch,
  MatchKind,
  MatchStep,
  MismatchAction,
  Position,
  RandomBytesStep,
  ReadBytesStep,
  ReadCountedStep,
  ReadLengthStep,
  ReadLineStep,
  ReadLiteralStep,
  ReadRegexStep,
  ReadUntilStep,
  RecordTarget,
  RequestDataStep,
  ResetStep,
  SendChunkStep,
  SendLimitStep,
  SendRateStep,
  ServerConfig,
  ShutdownStep,
  SleepStep,
  SplitBranch,
  SplitStep,
  Step,
  StepBase,
  TcpListen,
  TemplatePart,
  TestRequestStep,
  TlsSettings,
  UnixListen,
} from "./src/config/types.ts";

/**
 * Options for {@linkcode parseConfig}.
 *
 * @example Includes read from memory instead of the file system
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig, type ParseConfigOptions } from "@stream-echo/stream-echo";
 *
 * const files: Record<string, string> = { "/etc/se/mock.conf": "server { listen 9; echo hi; }" };
 * const options: ParseConfigOptions = {
 *   file: "/etc/se/main.conf",
 *   readFile: (path) => files[path] ?? "",
 * };
 * const config = parseConfig("stream { include mock.conf; }", options);
 * assert.equal(config.servers[0].steps[0].pos.file, "/etc/se/mock.conf");
 * ```
 */
export interface ParseConfigOptions {
  /** Name used in error messages and as the base for includes. @default {"<config>"} */
  file?: string;
  /** Folder that `include` and certificate paths are resolved against. @default {dirname of file} */
  baseDir?: string;
  /**
   * How included files and certificates are read: text (UTF-8 encoded before use) or bytes
   * (taken as they are). @default {reads regular files only, as bytes}
   */
  readFile?: (path: string) => string | Uint8Array;
}

/**
 * Parses and compiles config text into plain data (servers, listeners, steps, settings), for
 * tools that want to inspect a config without running it. Throws {@linkcode ConfigError}, with
 * the file and line, for bad text. A config is bytes: text is UTF-8 encoded first, a
 * `Uint8Array` is taken as it is, and every argument byte is sent exactly as written.
 *
 * @example Inspect a config
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "@stream-echo/stream-echo";
 *
 * const config = parseConfig(
 *   "stream {\n  server {\n    listen 127.0.0.1:1234;\n    echo_read_line;\n    echo hi;\n  }\n}\n",
 *   { file: "mock.conf" },
 * );
 * const [server] = config.servers;
 * assert.deepEqual(server.steps.map((s) => s.op), ["read_line", "echo"]);
 * assert.equal(server.steps[1].pos.line, 5);
 * ```
 *
 * @example Bytes that are not UTF-8 reach the client as written
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "@stream-echo/stream-echo";
 *
 * const head = new TextEncoder().encode("stream { server { listen 0; echo -n ");
 * const tail = new TextEncoder().encode("; } }");
 * const config = parseConfig(new Uint8Array([...head, 0xff, 0x80, ...tail]));
 * const step = config.servers[0].steps[0];
 * assert.ok(step.op === "echo");
 * assert.deepEqual(step.data, new Uint8Array([0xff, 0x80]));
 * ```
 *
 * @example A mistake names the file and line
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError, parseConfig } from "@stream-echo/stream-echo";
 *
 * try {
 *   parseConfig("stream {\n  server {\n    ech hi;\n  }\n}\n", { file: "mock.conf" });
 *   throw new Error("not reached");
 * } catch (err) {
 *   assert.ok(err instanceof ConfigError);
 *   assert.equal((err as ConfigError).line, 3);
 *   assert.equal(
 *     (err as ConfigError).message,
 *     'unknown directive "ech" in mock.conf:3, did you mean "echo"?',
 *   );
 * }
 * ```
 */
export function parseConfig(text: string | Uint8Array, options: ParseConfigOptions = {}): Config {
  return parseConfigText(text, options);
}
