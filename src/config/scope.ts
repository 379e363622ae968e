/**
 * The state the compiler carries while it walks the directive tree: one {@link CompileState}
 * for the whole config, and a {@link Scope} per block (main, events, stream, server).
 *
 * @module
 */

import type { Directive } from "./parser.ts";
import type { GlobEntry } from "./glob.ts";
import type {
  AccessLogTarget,
  ConfigNotice,
  EchoSettings,
  Listen,
  LogFileTarget,
  LogFormat,
  MainSettings,
  MatchBranch,
  Position,
  RecordTarget,
  ServerConfig,
  Step,
} from "./types.ts";

/**
 * The blocks a directive can appear in. "loop" is an `echo_loop` body, "branch" the body of a
 * `when` or `default`, "match" the inside of `echo_match` (only `when` and `default`).
 */
export type ContextName = "main" | "events" | "stream" | "server" | "loop" | "branch" | "match";

/** Where included files and certificates come from. */
export interface Source {
  /** Folder relative paths are resolved against (the main config's folder). */
  baseDir: string;
  /** Reads a text file; throws when it cannot. */
  readFile(path: string): string;
  /** Lists a folder; throws when it cannot. */
  listDir(path: string): GlobEntry[];
}

/** A file named by `ssl_certificate` or `ssl_certificate_key`. */
export interface TlsFileRef {
  /** The path resolved against the main config's folder. */
  path: string;
  /** Where the directive naming it is. */
  pos: Position;
}

/** `ssl_certificate` / `ssl_certificate_key` set in one block. */
export interface TlsPartial {
  /** `ssl_certificate`, when set in the block. */
  cert?: TlsFileRef;
  /** `ssl_certificate_key`, when set in the block. */
  key?: TlsFileRef;
}

/** A read whose size the server's effective `echo_read_buffer_size` must hold. */
export interface ReadCheck {
  /** Bytes this `echo_read_bytes` asks for. */
  n: number;
  /** Bytes the reading buffer holds after it (reads since the last `echo_request_data`). */
  total: number;
  /** Where the `echo_read_bytes` is. */
  pos: Position;
  /** How the error names the read; `"echo_read_bytes N"` when absent. */
  what?: string;
}

/** `access_log` and `echo_record` lines of one block (stream or server). */
export interface LogScope {
  /** `access_log PATH ...` lines, in order. */
  accessLog: AccessLogTarget[];
  /** True when `access_log off` was given in the block. */
  accessLogOff: boolean;
  /** `echo_record PATH`, or "off". */
  record?: RecordTarget | "off";
}

/** A `server {}` block being compiled. */
export interface ServerScope {
  /** Where the `server` block is. */
  pos: Position;
  /** Its `listen` lines so far. */
  listen: Listen[];
  /** Its steps so far, in order. */
  steps: Step[];
  /** The `echo_*` settings set in this server. */
  settings: Partial<EchoSettings>;
  /** Certificates set in this server. */
  tls: TlsPartial;
  /** Reads to check against the effective buffer size once the stream block is done. */
  reads: ReadCheck[];
  /** Bytes `echo_read_bytes` added since the last `echo_request_data`/`echo_discard_request`. */
  pendingRead: number;
  /** The single-value directives already set in this block, and where. */
  set: Map<string, Position>;
  /** Named groups of every regex in this server (for `-v` `$name` checks). */
  groupNames: Set<string>;
  /** `-v` `$name` references, checked against `groupNames` once the server is compiled. */
  nameRefs: { name: string; directive: string; pos: Position }[];
  /** Its `access_log` / `echo_record` lines, once one is seen. */
  logs?: LogScope;
}

/** An `echo_match` block being compiled. */
export interface MatchScope {
  /** Its `when` branches so far. */
  branches: MatchBranch[];
  /** Its `default` body, once seen. */
  fallback: Step[] | null;
  /** `pendingRead` when the `echo_match` began (each branch starts from it). */
  pendingAtStart: number;
  /** The largest `pendingRead` a branch ended with. */
  pendingAtEnd: number;
}

/** The `stream {}` block being compiled. */
export interface StreamScope {
  /** The `echo_*` settings set at stream level (inherited by servers). */
  settings: Partial<EchoSettings>;
  /** Certificates set at stream level (inherited by servers). */
  tls: TlsPartial;
  /** The servers compiled so far. */
  servers: ServerScope[];
  /** The single-value directives already set in this block, and where. */
  set: Map<string, Position>;
  /** Its `access_log` / `echo_record` lines, once one is seen. */
  logs?: LogScope;
  /** `log_format` definitions by name, once one is seen. */
  logFormats?: Map<string, LogFormat>;
}

/** Everything the compile functions of the directive table may touch. */
export interface CompileState {
  /** Main-context settings so far. */
  main: MainSettings;
  /** Finished servers, in order. */
  servers: ServerConfig[];
  /** Notices so far. */
  notices: ConfigNotice[];
  /** `access_log` and `echo_record` files named so far. */
  logFiles: LogFileTarget[];
  /** Where included files and certificates come from. */
  source: Source;
  /** Single-value main and events directives already set. */
  mainSet: Set<string>;
  /** Files being included, innermost last (for cycle reports). */
  includeStack: string[];
  /** `listenKey` to where it was first used. */
  listenKeys: Map<string, Position>;
  /** Certificate and key files already read, by resolved path. */
  fileCache: Map<string, string>;
  /** The shared buffer short step bytes are encoded into, and how much of it is used. */
  slab?: Uint8Array;
  /** Bytes of `slab` already used. */
  slabUsed: number;
  /** `echo_duplicate` chunks, by unit text and repetitions. */
  chunkCache: Map<string, Uint8Array>;
  /** Compiles a block's children in a child scope (set by the compiler). */
  walk(directives: Directive[], scope: Scope): void;
}

/** The block a directive is compiled in. */
export interface Scope {
  /** Which block this is. */
  context: ContextName;
  /** The whole compile's state. */
  state: CompileState;
  /** The stream block, inside `stream {}` and its servers. */
  stream?: StreamScope;
  /** The server block, inside `server {}`. */
  server?: ServerScope;
  /** Where step directives append their steps (a block body); the server's steps if absent. */
  steps?: Step[];
  /** How many step blocks (`echo_loop`, `when`, ...) enclose this scope; 0 in `server {}`. */
  depth?: number;
  /** True inside an `echo_loop` body (at any depth): `echo_break` is allowed. */
  inLoop?: boolean;
  /** The `echo_match` being compiled, inside its block. */
  match?: MatchScope;
}
