/**
 * What a step sees of its session: the reading buffer, the output queue, the settings, and
 * waits that end when the session halts.
 *
 * @module
 */
import type { EchoSettings } from "../config/types.ts";
import type { ByteReader } from "./byte_reader.ts";
import type { SessionHalt } from "./halt.ts";
import type { Output } from "./output.ts";
import type { Prng } from "./random.ts";
import type { CloseMode, SessionEnd } from "./types.ts";
import type { LogLevel } from "../log/logger.ts";

/** The session as steps use it. */
export interface StepContext {
  /** The server's `echo_*` settings. */
  readonly settings: EchoSettings;
  /** Ordered, backpressured output to the client. */
  readonly output: Output;
  /** True once `echo_discard_request` ran. */
  readonly discarding: boolean;
  /** Aborted when the session halts (for timers a step starts). */
  readonly signal: AbortSignal;
  /** The reading buffer, created (sized by `echo_read_buffer_size`) on first use. */
  reader(): ByteReader;
  /** True when the reading buffer exists (something was read). */
  hasReader(): boolean;
  /** Waits for `p`, but rejects with the session's halt as soon as the session halts. */
  until<T>(p: Promise<T>): Promise<T>;
  /**
   * One read from the client into the reading buffer, under the read timer. Resolves with the
   * bytes added or null at EOF; a timeout or reset rejects with a {@linkcode SessionHalt}.
   */
  fill(): Promise<number | null>;
  /** Drops buffered input and discards all further input in the background. */
  startDiscard(): void;
  /** Logs `message` at debug level (a no-op unless the logger writes debug lines). */
  debug(message: string): void;
  /** Logs the start of a timer of `ms` milliseconds at debug level, in nginx's words. */
  debugTimer(ms: number): void;
  /** A halt for a client-caused error, logged at `echo_client_error_log_level`. */
  clientError(end: SessionEnd, message: string): SessionHalt;
  /**
   * How the connection closes when the session ends (default "auto": nginx's). A step that
   * wants an abortive end (`echo_reset`) sets "reset", then ends the session by throwing a
   * halt; the client then sees a TCP reset. Half-closing now is `output.close()`.
   */
  setCloseMode(mode: CloseMode): void;
  /** Logs `message` at `level` with the session's context; the session goes on. */
  log(level: LogLevel, message: string): void;
  /** The session's halt once it halted, else null (block runners check it between steps). */
  readonly halted: SessionHalt | null;

  // Conversation state: plain fields, so a session that uses no conversation step pays nothing.

  /** Start of the last read step's data in the reading buffer's request region. */
  lastStart: number;
  /** End of the last read step's data (start == end: empty). */
  lastEnd: number;
  /** The most recent regex match (`echo_read_regex`, `when ~`): the `-v` captures. */
  match: RegExpExecArray | null;
  /**
   * `reader.claimed` when the innermost loop's current iteration began, or -1 outside loops: a
   * read meeting EOF while nothing was claimed since then ends the loop quietly.
   */
  loopMark: number;
  /** True once a loop ended at the client's EOF: the enclosing loops end after this iteration. */
  eofEnded: boolean;
  /** Ends the session from outside a step (first caller wins): pending waits reject. */
  halt(halt: SessionHalt): void;
  /** The session's random generator, made on first use (see src/engine/random.ts). */
  random(): Prng;
}
