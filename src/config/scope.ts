/**
 * The state the compiler carries while it walks the directive tree: one {@link CompileState}
 * for the whole config, and a {@link Scope} per block (main, events, stream, server).
 *
 * @module
 */

import type { Directive } from "./parser.ts";
import type { GlobEntry } from "./glob.ts";
import type {
  ConfigNotice,
  EchoSettings,
  Listen,
  MainSettings,
  Position,
  ServerConfig,
  Step,
} from "./types.ts";

/** The blocks a directive can appear in. */
export type ContextName = "main" | "events" | "stream" | "server";

/** Where included files and certificates come from. */
export interface Source {
  /** Folder relative paths are resolved against (the main config's folder). */
  baseDir: string;
  readFile(path: string): string;
  listDir(path: string): GlobEntry[];
}

/** A file named by `ssl_certificate` or `ssl_certificate_key`. */
export interface TlsFileRef {
  /** The path resolved against the main config's folder. */
  path: string;
  pos: Position;
}

/** `ssl_certificate` / `ssl_certificate_key` set in one block. */
export interface TlsPartial {
  cert?: TlsFileRef;
  key?: TlsFileRef;
}

/** A read whose size the server's effective `echo_read_buffer_size` must hold. */
export interface ReadCheck {
  /** Bytes this `echo_read_bytes` asks for. */
  n: number;
  /** Bytes the reading buffer holds after it (reads since the last `echo_request_data`). */
  total: number;
  pos: Position;
}

/** A `server {}` block being compiled. */
export interface ServerScope {
  pos: Position;
  listen: Listen[];
  steps: Step[];
  settings: Partial<EchoSettings>;
  tls: TlsPartial;
  reads: ReadCheck[];
  /** Bytes `echo_read_bytes` added since the last `echo_request_data`/`echo_discard_request`. */
  pendingRead: number;
  /** The single-value directives already set in this block, and where. */
  set: Map<string, Position>;
}

/** The `stream {}` block being compiled. */
export interface StreamScope {
  settings: Partial<EchoSettings>;
  tls: TlsPartial;
  servers: ServerScope[];
  /** The single-value directives already set in this block, and where. */
  set: Map<string, Position>;
}

/** Everything the compile functions of the directive table may touch. */
export interface CompileState {
  main: MainSettings;
  servers: ServerConfig[];
  notices: ConfigNotice[];
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
  slabUsed: number;
  /** `echo_duplicate` chunks, by unit text and repetitions. */
  chunkCache: Map<string, Uint8Array>;
  /** Compiles a block's children in a child scope (set by the compiler). */
  walk(directives: Directive[], scope: Scope): void;
}

/** The block a directive is compiled in. */
export interface Scope {
  context: ContextName;
  state: CompileState;
  stream?: StreamScope;
  server?: ServerScope;
}
