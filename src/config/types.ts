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
}

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

/** `echo_sleep SECONDS`: a timer of `ms` milliseconds. */
export interface SleepStep extends StepBase {
  /** Step kind. */
  op: "sleep";
  /** Sleep time in milliseconds. */
  ms: number;
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

/** One step of a server's script, run in order for every connection. */
export type Step =
  | EchoStep
  | DuplicateStep
  | FlushWaitStep
  | SleepStep
  | ReadBytesStep
  | ReadLineStep
  | RequestDataStep
  | DiscardRequestStep;

/** Fields every listener has. */
export interface ListenBase {
  /** The `listen` argument as written, e.g. "127.0.0.1:1234" or "unix:/tmp/se.sock". */
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

/** Something the loader accepted but wants the operator to know (e.g. an ignored directive). */
export interface ConfigNotice {
  /** What to tell the operator. */
  message: string;
  /** Where it was written. */
  pos: Position;
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
}
