/**
 * The engine's contract: what a session runs over and what it reports.
 *
 * @module
 */
import type { EchoSettings, Step } from "../config/types.ts";
import type { DirectSink } from "./direct_writer.ts";
import type { LogContext, Logger } from "../log/logger.ts";

/**
 * A byte-stream connection as the engine sees it: the transport seam. The engine never names
 * the runtime; the server layer adapts its sockets to this (src/server/transport.ts builds it
 * from a `Deno.Conn`), tests build it from in-memory streams.
 *
 * `readable` ending means the client half-closed (EOF); erroring means a reset or other failure.
 * Observers (transcripts, recording) wrap `readable` and `writable`; the fault stages (pacing,
 * slicing, byte limits) sit between the session's output queue and `writable`
 * (src/engine/stages/), put in place only by the steps that ask for them.
 *
 * Closing is explicit: {@linkcode SessionIO.close} (graceful), {@linkcode SessionIO.closeWrite}
 * (half-close) and {@linkcode SessionIO.reset} (abortive) are capabilities a session requests
 * (see `CloseMode`). A wrapper that replaces `readable` or `writable` passes the others on.
 */
export interface SessionIO {
  /** Client-to-server bytes. */
  readable: ReadableStream<Uint8Array>;
  /** Server-to-client bytes. A write resolves once the bytes were handed to the socket. */
  writable: WritableStream<Uint8Array>;
  /** Half-close: send FIN after everything written so far; reading goes on. Absent: not supported. */
  closeWrite?(): Promise<void>;
  /** Graceful close: the client gets a FIN after everything written. Idempotent. */
  close(): void;
  /**
   * Abortive close: the client ALWAYS sees a TCP reset (RST), whatever is queued or unread,
   * then the connection is closed (as `SO_LINGER {1, 0}` + `close()` in C). Idempotent.
   * Absent: not supported (the engine then calls `close()`).
   */
  reset?(): void;
  /**
   * Bytes the client sent that the OS still holds unread (`FIONREAD`). With it the engine closes
   * the way C's `close()` does after an abrupt end, as nginx: a reset when input nobody read is
   * waiting, else a normal close. Absent: unknown, taken as 0.
   */
  unread?(): number;
  /**
   * Bytes the socket has accepted so far, partial writes included. Lets the send timer see a
   * slow reader's progress inside one large write. Absent: progress counts whole writes.
   */
  accepted?(): number;
  /**
   * The direct path, for a plain socket with no stage: the engine reads into its reading buffer
   * and writes from its output queue through these calls instead of `readable` and `writable`
   * (which are then never built), with the same semantics. Used only when `direct.of` is this
   * very object: a wrapper that copies the io to put a stage in front of a stream (`{ ...io,
   * writable }`) has another identity, so the engine takes the wrapper's streams.
   */
  direct?: DirectIO;
}

/** See {@linkcode SessionIO.direct}: what `readable` and `writable` do, without streams. */
export interface DirectIO {
  /** The io these calls belong to (the engine checks `io.direct.of === io`). */
  readonly of: SessionIO;
  /** Reads at most `buf.byteLength` bytes into `buf`: how many, or null at EOF. */
  read(buf: Uint8Array): Promise<number | null>;
  /** Closes the connection and resolves once a read in flight settled (as cancelling `readable`). */
  cancel(): Promise<void>;
  /** What `writable`'s underlying sink does: write whole chunks, half-close, abort. */
  sink: DirectSink;
  /** Bytes queued in front of `sink` before the writer reports backpressure. */
  highWaterMark: number;
  /**
   * Shown each chunk as soon as a read returns it, with no promise in between (a recording tap,
   * src/lib/tap.ts); `sink.onWritten` likewise for writes. Must copy what it keeps.
   */
  onRead?(chunk: Uint8Array): void;
}

/**
 * How a session's connection is closed when it ends:
 * - "auto" (the default): as nginx does, a graceful close, except after an abrupt end (error,
 *   timeout, shutdown) with input nobody read waiting in the socket: a reset (C `close()`);
 * - "graceful": always a FIN;
 * - "reset": always a TCP reset (fault directives such as `echo_reset` request it).
 */
export type CloseMode = "auto" | "graceful" | "reset";

/**
 * How a session ended:
 * - "eof": normally (the script ran to its end, or the client closed its side where allowed);
 * - "reset": the client reset the connection or closed it before a read step got its bytes;
 * - "timeout": a read, send or lingering timer expired;
 * - "mismatch": the client sent bytes a comparison did not expect (`echo_read_literal`,
 *   `echo_test_request_data`) and `echo_mismatch_action` is close or reset;
 * - "error": the script hit an error (line too long, read after discard, ...);
 * - "shutdown": the server closed it (fast shutdown or abort).
 */
export type SessionEnd = "eof" | "reset" | "timeout" | "mismatch" | "error" | "shutdown";

/** What {@linkcode runSession} resolves to. It never rejects. */
export interface SessionResult {
  end: SessionEnd;
  /** Human-readable reason for non-"eof" ends (the message that was logged). */
  reason?: string;
  /** Bytes read from the client (by read steps, discarding and lingering close). */
  bytesIn: number;
  /**
   * Bytes written to the client: what the socket accepted ({@linkcode SessionIO.accepted}),
   * partial writes included, however the session ended; over an io without `accepted`, the
   * writes the transport completed.
   */
  bytesOut: number;
}

/** The part of a server's compiled config that a session needs. */
export interface SessionScript {
  steps: readonly Step[];
  settings: EchoSettings;
}

/**
 * What ends a session at once (fast shutdown): an `AbortSignal`, or anything with the same three
 * members (the server hands each session a lighter one than an `AbortController`'s).
 */
export interface StopSignal {
  /** True once stopped. */
  readonly aborted: boolean;
  /** Calls `listener` when stopped (the event type is always "abort"). */
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  /** Forgets a listener added before. */
  removeEventListener(type: "abort", listener: () => void): void;
}

/** Options for running one session. */
export interface SessionOptions {
  /** Where the session logs (client errors at the configured client error log level). */
  logger: Logger;
  /** Connection number and addresses for log lines. */
  context?: LogContext;
  /** Aborting it ends the session at once with end "shutdown" (fast shutdown). */
  signal?: StopSignal;
}
