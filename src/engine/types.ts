/**
 * The engine's contract: what a session runs over and what it reports.
 *
 * @module
 */
import type { EchoSettings, Step } from "../config/types.ts";
import type { LogContext, Logger } from "../log/logger.ts";

/**
 * A byte-stream connection as the engine sees it. A socket adapter (src/engine/conn_io.ts)
 * builds this from a `Deno.Conn`; tests build it from in-memory streams.
 *
 * `readable` ending means the client half-closed (EOF); erroring means a reset or other failure.
 * Output stages (recording, pacing, chunking) are `TransformStream`s piped in front of
 * `writable`, never special cases inside steps.
 */
export interface SessionIO {
  /** Client-to-server bytes. */
  readable: ReadableStream<Uint8Array>;
  /** Server-to-client bytes. A write resolves once the bytes were handed to the socket. */
  writable: WritableStream<Uint8Array>;
  /** Half-close: send FIN after everything written so far. Absent: not supported. */
  closeWrite?(): Promise<void>;
  /** Close the whole connection now (pending unread input may make the OS send a reset). */
  close(): void;
  /**
   * Close now the way C's `close()` does: when input nobody read is waiting in the socket, the
   * client gets a reset instead of a clean EOF (the engine uses it for abrupt ends, as nginx
   * does). Absent: the engine calls `close()`.
   */
  reset?(): void;
  /**
   * Bytes the socket has accepted so far, partial writes included. Lets the send timer see a
   * slow reader's progress inside one large write. Absent: progress counts whole writes.
   */
  accepted?(): number;
}

/**
 * How a session ended:
 * - "eof": normally (the script ran to its end, or the client closed its side where allowed);
 * - "reset": the client reset the connection or closed it before a read step got its bytes;
 * - "timeout": a read, send or lingering timer expired;
 * - "error": the script hit an error (line too long, read after discard, ...);
 * - "shutdown": the server closed it (fast shutdown or abort).
 */
export type SessionEnd = "eof" | "reset" | "timeout" | "error" | "shutdown";

/** What {@linkcode runSession} resolves to. It never rejects. */
export interface SessionResult {
  end: SessionEnd;
  /** Human-readable reason for non-"eof" ends (the message that was logged). */
  reason?: string;
}

/** The part of a server's compiled config that a session needs. */
export interface SessionScript {
  steps: readonly Step[];
  settings: EchoSettings;
}

/** Options for running one session. */
export interface SessionOptions {
  /** Where the session logs (client errors at the configured client error log level). */
  logger: Logger;
  /** Connection number and addresses for log lines. */
  context?: LogContext;
  /** Aborting it ends the session at once with end "shutdown" (fast shutdown). */
  signal?: AbortSignal;
}
