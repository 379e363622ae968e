/**
 * The compiled configuration: plain data, produced once by the config compiler and read by
 * the server and the engine. Nothing here refers back to config text; every node that can be
 * blamed for something at run time carries the file and line it came from.
 *
 * @module
 */

/** Where a token, directive or step came from. */
export interface Position {
  /** Path of the config file (as given, or the include path resolved against the main file). */
  file: string;
  /** 1-based line number. */
  line: number;
}

/** Error-log levels, nginx's order from most to least verbose. */
export type LogLevel =
  | "debug"
  | "info"
  | "notice"
  | "warn"
  | "error"
  | "crit"
  | "alert"
  | "emerg";

/** Levels allowed for `echo_client_error_log_level`. */
export type ClientErrorLogLevel = "info" | "notice" | "warn" | "error";

/** Values of `echo_lingering_close`. */
export type LingeringClose = "off" | "on" | "always";

/**
 * The per-server settings of the `echo_*` family. Set at stream level they are inherited by
 * every server that does not set them. All times are milliseconds, sizes bytes.
 */
export interface EchoSettings {
  /** `echo_read_timeout`, default 60000. */
  readTimeout: number;
  /** `echo_send_timeout`, default 60000. */
  sendTimeout: number;
  /** `echo_read_buffer_size`, default 1024. */
  readBufferSize: number;
  /** `echo_client_error_log_level`, default "info". */
  clientErrorLogLevel: ClientErrorLogLevel;
  /** `echo_lingering_close`, default "on". */
  lingeringClose: LingeringClose;
  /** `echo_lingering_time`, default 30000. */
  lingeringTime: number;
  /** `echo_lingering_timeout`, default 5000. */
  lingeringTimeout: number;
  /** `echo_mismatch_action`; absent means "close". */
  mismatchAction?: MismatchAction;
  /** `postpone_output` in bytes; absent or 0 means off. */
  postponeOutput?: number;
  /** `echo_random_seed`; unset: every session is seeded at random. */
  randomSeed?: number;
}

/** Values of `echo_mismatch_action`. */
export type MismatchAction = "close" | "reset" | "continue";

/** Fields every step has. */
export interface StepBase {
  /** The directive this step was compiled from (for log messages), e.g. "echo_read_line". */
  directive: string;
  /** Where it was written. */
  pos: Position;
}

/** `echo`: send pre-encoded bytes (arguments joined by spaces, plus LF unless `-n`). */
export interface EchoStep extends StepBase {
  /** Step kind. */
  op: "echo";
  /** The bytes to send, pre-encoded at load. */
  data: Uint8Array;
}

/**
 * `echo_duplicate COUNT STRING`: send `unit` `count` times. `chunk` holds whole repetitions of
 * `unit` (at least 64 KiB of them, or all `count` when that is less), built once at load, so the
 * engine streams it without ever building count x length bytes. Empty when nothing is sent.
 */
export interface DuplicateStep extends StepBase {
  /** Step kind. */
  op: "duplicate";
  /** The string to repeat, encoded. */
  unit: Uint8Array;
  /** How many times to send `unit`. */
  count: number;
  /** Whole repetitions of `unit`, built once at load. */
  chunk: Uint8Array;
}

/** `echo_flush_wait`: wait until all queued output has been handed to the socket. */
export interface FlushWaitStep extends StepBase {
  /** Step kind. */
  op: "flush_wait";
}

/** `echo_sleep SECONDS` or `echo_sleep MIN..MAX`: a timer of `ms` (to `maxMs`) milliseconds. */
export interface SleepStep extends StepBase {
  /** Step kind. */
  op: "sleep";
  /** Sleep time in milliseconds (the shortest, for a range). */
  ms: number;
  /** For `MIN..MAX`: the longest sleep; each run picks a whole number of ms in the range. */
  maxMs?: number;
}

/** `echo_read_bytes SIZE`: append exactly `n` more bytes to the reading buffer. */
export interface ReadBytesStep extends StepBase {
  /** Step kind. */
  op: "read_bytes";
  /** Number of bytes to read. */
  n: number;
}

/** `echo_read_line`: append through the next LF (EOF ends the line too). */
export interface ReadLineStep extends StepBase {
  /** Step kind. */
  op: "read_line";
}

/** `echo_request_data`: send the reading buffer, wait for the flush, clear it. */
export interface RequestDataStep extends StepBase {
  /** Step kind. */
  op: "request_data";
}

/** `echo_discard_request`: drop buffered and all future input. */
export interface DiscardRequestStep extends StepBase {
  /** Step kind. */
  op: "discard_request";
}

/**
 * One piece of a `-v` output template: literal bytes, or a variable filled in at run time
 * (`$0`..`$9` and named groups of the most recent regex match, `$echo_last_read`,
 * `$echo_request_data`).
 */
export type TemplatePart =
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "group"; index: number }
  | { kind: "named"; name: string }
  | { kind: "last_read" }
  | { kind: "request_data" };

/** `echo -v`: like {@link EchoStep}, with variables filled in when it runs. */
export interface EchoTemplateStep extends StepBase {
  /** Step kind. */
  op: "echo_template";
  /** Literal bytes and variables, in order. */
  parts: TemplatePart[];
}

/** `echo_duplicate -v COUNT STRING`: `count` copies of the filled-in template. */
export interface DuplicateTemplateStep extends StepBase {
  /** Step kind. */
  op: "duplicate_template";
  /** How many copies. */
  count: number;
  /** Literal bytes and variables, in order. */
  parts: TemplatePart[];
}

/** A number taken from a capture at run time: `$1` (group index) or `$name` (named group). */
export type CaptureRef = { index: number; name?: undefined } | { index?: undefined; name: string };

/** `echo_loop [N|$capture] { ... }`: runs `body` forever (until EOF), N times, or $capture times. */
export interface LoopStep extends StepBase {
  /** Step kind. */
  op: "loop";
  /** Iterations: null until the client closes, a number, or a decimal capture. */
  count: number | CaptureRef | null;
  /** The steps of one iteration. */
  body: Step[];
}

/** `echo_break`: leaves the innermost `echo_loop`. */
export interface BreakStep extends StepBase {
  /** Step kind. */
  op: "break";
}

/** How a `when` compares: `=` exact, `^~` prefix, `~` regex, `~*` case-insensitive regex. */
export type MatchKind = "exact" | "prefix" | "regex";

/** One `when` of an `echo_match`. */
export interface MatchBranch {
  /** How the subject is compared. */
  kind: MatchKind;
  /** The bytes for "exact" and "prefix". */
  bytes: Uint8Array;
  /** The compiled regex for "regex" (created once at load). */
  regex: RegExp | null;
  /** The steps run when it matches. */
  body: Step[];
  /** Where the `when` is. */
  pos: Position;
}

/** `echo_match [last|buffer] { when ... { } default { } }`: first matching branch runs. */
export interface MatchStep extends StepBase {
  /** Step kind. */
  op: "match";
  /** The last read step's data, or the whole reading buffer. */
  subject: "last" | "buffer";
  /** The `when` branches, in order. */
  branches: MatchBranch[];
  /** The `default` body, or null when there is none. */
  fallback: Step[] | null;
}

/** `echo_clear_request_data`: empty the reading buffer without sending it. */
export interface ClearRequestStep extends StepBase {
  /** Step kind. */
  op: "clear_request";
}

/** `echo_read_until DELIMITER`: append input through the first occurrence of `delimiter`. */
export interface ReadUntilStep extends StepBase {
  /** Step kind. */
  op: "read_until";
  /** The delimiter bytes (not empty). */
  delimiter: Uint8Array;
  /** KMP failure table of `delimiter`, built once at load. */
  fail: Int32Array;
}

/** `echo_read_literal STRING`: read as many bytes as `expected` has and compare. */
export interface ReadLiteralStep extends StepBase {
  /** Step kind. */
  op: "read_literal";
  /** The bytes expected. */
  expected: Uint8Array;
}

/** `echo_test_request_data STRING`: compare the whole reading buffer with `expected`. */
export interface TestRequestStep extends StepBase {
  /** Step kind. */
  op: "test_request";
  /** The bytes expected. */
  expected: Uint8Array;
}

/** `echo_read_regex REGEX`: read until the unread bytes (as latin1) match `regex`. */
export interface ReadRegexStep extends StepBase {
  /** Step kind. */
  op: "read_regex";
  /** The regex, compiled once at load. */
  regex: RegExp;
}

/** `echo_read_bytes $N [+-K]`: read (capture + adjust) more bytes. */
export interface ReadCountedStep extends StepBase {
  /** Step kind. */
  op: "read_counted";
  /** Where the decimal length comes from. */
  ref: CaptureRef;
  /** Added to the length. */
  adjust: number;
}

/** `echo_read_length u8|u16be|u16le|u32be|u32le [+-K]`: an integer, then that many bytes. */
export interface ReadLengthStep extends StepBase {
  /** Step kind. */
  op: "read_length";
  /** Width of the integer in bytes. */
  width: 1 | 2 | 4;
  /** Byte order of the integer. */
  littleEndian: boolean;
  /** Added to the integer's value. */
  adjust: number;
}

/** `echo_flush`: send what `postpone_output` holds, without waiting. */
export interface FlushStep extends StepBase {
  /** Step kind. */
  op: "flush";
}

/** `echo_close`: flush what is queued and end the session now (lingering rules apply). */
export interface CloseStep extends StepBase {
  /** Step kind. */
  op: "close";
}

/** `echo_reset`: drop queued output and end the connection with a TCP reset. */
export interface ResetStep extends StepBase {
  /** Step kind. */
  op: "reset";
}

/** `echo_shutdown`: flush, then half-close the write side; reads go on. */
export interface ShutdownStep extends StepBase {
  /** Step kind. */
  op: "shutdown";
}

/** `echo_send_rate SIZE`: pace later output to `rate` bytes per second (0: unpaced). */
export interface SendRateStep extends StepBase {
  /** Step kind. */
  op: "send_rate";
  /** Bytes per second; 0 turns pacing off. */
  rate: number;
}

/** `echo_send_chunk SIZE [DELAY]`: later output in writes of at most `size` bytes. */
export interface SendChunkStep extends StepBase {
  /** Step kind. */
  op: "send_chunk";
  /** Largest write in bytes; 0 turns slicing off. */
  size: number;
  /** Milliseconds between two writes. */
  delayMs: number;
}

/** `echo_send_limit SIZE [reset]`: end the connection after `size` more bytes. */
export interface SendLimitStep extends StepBase {
  /** Step kind. */
  op: "send_limit";
  /** Bytes still allowed out. */
  size: number;
  /** True: end with a reset; false: a plain close. */
  reset: boolean;
}

/** `echo_random_bytes SIZE`: send `size` random bytes. */
export interface RandomBytesStep extends StepBase {
  /** Step kind. */
  op: "random_bytes";
  /** How many bytes. */
  size: number;
}

/** One branch of an `echo_split` (or the body of an `echo_chance`). */
export interface SplitBranch {
  /** Its share of the draws, in hundredths of a percent (10000 is 100%). */
  share: number;
  /** The steps run when the draw falls in its share. */
  body: Step[];
  /** Where the branch is. */
  pos: Position;
}

/**
 * `echo_split { P% { ... } * { ... } }` and `echo_chance P% { ... }`: at most one branch runs,
 * chosen by one draw of the session's random generator.
 */
export interface SplitStep extends StepBase {
  /** Step kind. */
  op: "split";
  /** The branches in order; shares add up to at most 10000. */
  branches: SplitBranch[];
}

/** One step of a server's script, run in order for every connection. */
export type Step =
  | EchoStep
  | DuplicateStep
  | FlushWaitStep
  | SleepStep
  | ReadBytesStep
  | ReadLineStep
  | RequestDataStep
  | DiscardRequestStep
  | EchoTemplateStep
  | DuplicateTemplateStep
  | LoopStep
  | BreakStep
  | MatchStep
  | ClearRequestStep
  | ReadUntilStep
  | ReadLiteralStep
  | TestRequestStep
  | ReadRegexStep
  | ReadCountedStep
  | ReadLengthStep
  | FlushStep
  | CloseStep
  | ResetStep
  | ShutdownStep
  | SendRateStep
  | SendChunkStep
  | SendLimitStep
  | RandomBytesStep
  | SplitStep;

/** Fields every listener has. */
export interface ListenBase {
  /**
   * The `listen` argument as written (its bytes decoded as UTF-8), e.g. "127.0.0.1:1234" or
   * "unix:/tmp/café.sock".
   */
  address: string;
  /** `ssl` parameter. */
  ssl: boolean;
  /** `backlog=N`, when given. */
  backlog?: number;
  /** Where it was written. */
  pos: Position;
}

/** A TCP listener. `hostname` is "0.0.0.0" for `PORT` and `*:PORT`, "::1" for `[::1]:PORT`. */
export interface TcpListen extends ListenBase {
  /** Listener kind. */
  kind: "tcp";
  /** Address to bind, e.g. "0.0.0.0", "127.0.0.1", "::1". */
  hostname: string;
  /** Port to bind (0: any free port). */
  port: number;
  /** `reuseport` parameter. */
  reusePort: boolean;
  /** `so_keepalive=on|off`, when given. */
  keepAlive?: boolean;
}

/** A Unix-domain stream socket listener (`listen unix:/path`). */
export interface UnixListen extends ListenBase {
  /** Listener kind. */
  kind: "unix";
  /** Socket file path. */
  path: string;
}

/** One `listen` directive. */
export type Listen = TcpListen | UnixListen;

/** Certificate and key for `listen ... ssl`, read at load time (so a reload re-reads them). */
export interface TlsSettings {
  /** Path of the `ssl_certificate` file. */
  certFile: string;
  /** Path of the `ssl_certificate_key` file. */
  keyFile: string;
  /** PEM text of the certificate chain. */
  cert: string;
  /** PEM text of the private key. */
  key: string;
  /** Where it was written. */
  pos: Position;
}

/** How a `log_format` escapes variable values (`escape=`); see src/log/escape.ts. */
export type LogEscape = "default" | "json" | "none";

/** One piece of a compiled log format: literal text, or a variable (its name without `$`). */
export type LogFormatPart = string | { variable: string };

/** A `log_format NAME [escape=...] STRING...`, compiled at load into parts. */
export interface LogFormat {
  /** Its name (the default format, used when `access_log` names none, has an empty name). */
  name: string;
  /** How variable values are escaped. */
  escape: LogEscape;
  /** Literal text and variables, in order (adjacent text merged). */
  parts: LogFormatPart[];
}

/** One `access_log PATH [FORMAT] [if=CONDITION]` in effect for a server. */
export interface AccessLogTarget {
  /** The file (resolved against the main config's folder). */
  path: string;
  /** The format its lines are written in. */
  format: LogFormat;
  /** `if=`: the line is skipped when this evaluates to "" or "0". */
  condition?: LogFormatPart[];
  /** `buffer=SIZE`: a busy log writes at once when this many bytes wait. */
  buffer?: number;
  /** `flush=TIME`: how long (ms) lines of a busy log may wait to share one write. */
  flush?: number;
  /** Where the directive is. */
  pos: Position;
}

/** The `echo_record PATH` in effect for a server. */
export interface RecordTarget {
  /** The file (resolved against the main config's folder). */
  path: string;
  /** Where the directive is. */
  pos: Position;
}

/**
 * One `access_log` or `echo_record` file a config names, wherever it is written: the files
 * `stream-echo check` opens, as `nginx -t` does.
 */
export interface LogFileTarget {
  /** The file (resolved against the main config's folder). */
  path: string;
  /** The directive that names it. */
  directive: "access_log" | "echo_record";
  /** Where the directive is. */
  pos: Position;
}

/** One `server {}` block inside `stream {}`. */
export interface ServerConfig {
  /** Where it was written. */
  pos: Position;
  /** Its `listen` lines, in order. */
  listen: Listen[];
  /** The script run for every connection, in order. */
  steps: Step[];
  /** Effective `echo_*` settings (server values over stream values over defaults). */
  settings: EchoSettings;
  /** Present when any listener of this server has `ssl`. */
  tls?: TlsSettings;
  /** `access_log` lines in effect (the server's, else the stream level's); absent when off. */
  accessLog?: AccessLogTarget[];
  /** `echo_record` in effect (the server's, else the stream level's); absent when off. */
  record?: RecordTarget;
}

/** One `error_log` directive (main or stream context). */
export interface ErrorLogTarget {
  /** "stderr" or a file path (relative paths resolved against the main config's folder). */
  target: string;
  /** Lowest level written. */
  level: LogLevel;
  /** Where it was written. */
  pos: Position;
}

/** Main-context settings (nginx.conf's top level). */
export interface MainSettings {
  /** `worker_processes`, default 1. */
  workerProcesses: number | "auto";
  /** `error_log` lines; empty means the caller's default. */
  errorLog: ErrorLogTarget[];
  /** `pid FILE`, when given. */
  pid?: { file: string; pos: Position };
  /** `worker_shutdown_timeout` in ms; undefined means no cap on a graceful shutdown. */
  workerShutdownTimeout?: number;
  /** `events { worker_connections N; }`, default 512. */
  workerConnections: number;
}

/**
 * Something the loader accepted but wants the operator to know: an ignored directive (at
 * `notice`), or a likely mistake such as a missing `;` (at `warn`). The CLI logs it at its
 * level; the config still loads.
 */
export interface ConfigNotice {
  /** What to tell the operator. */
  message: string;
  /** Where it was written. */
  pos: Position;
  /** The level it is logged at. @default {"notice"} */
  level?: "notice" | "warn";
}

/** The whole compiled configuration. */
export interface Config {
  /** The main config file path ("<config>" or the given name for text configs). */
  file: string;
  /** Main-context settings. */
  main: MainSettings;
  /** The `server {}` blocks of `stream {}`, in order. */
  servers: ServerConfig[];
  /** Things accepted but worth telling (ignored directives). */
  notices: ConfigNotice[];
  /**
   * Every `access_log` and `echo_record` file named anywhere, in config order (also one written
   * at the stream level that no server uses). Absent in a `Config` built by hand.
   */
  logFiles?: LogFileTarget[];
}
