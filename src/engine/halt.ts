/**
 * Why a session stops before (or instead of) finishing its script: a value steps throw and the
 * runner logs once.
 *
 * @module
 */
import type { LogLevel } from "../log/logger.ts";
import type { SessionEnd } from "./types.ts";

/** How a halted session closes, besides its end and log line. */
export interface HaltOptions {
  /** Send what is queued before closing (bounded by the send timeout). @default {false} */
  drain?: boolean;
}

/**
 * Thrown (or raised asynchronously) to end a session. `level` is where the runner logs
 * `message`; no level means the end is quiet.
 */
export class SessionHalt extends Error {
  /** How the session ends. */
  readonly end: SessionEnd;
  /** Log level for `message`, or undefined for a quiet end. */
  readonly level: LogLevel | undefined;
  /** True when queued output is sent before closing. */
  readonly drain: boolean;

  constructor(end: SessionEnd, message: string, level?: LogLevel, options: HaltOptions = {}) {
    super(message);
    this.name = "SessionHalt";
    this.end = end;
    this.level = level;
    this.drain = options.drain ?? false;
  }
}

/**
 * Thrown by `echo_close`: the script ends here as if it had run to its end (queued output is
 * flushed, lingering rules apply). Out of loops and branches alike.
 */
export class ScriptEnd extends Error {
  constructor() {
    super("echo_close");
    this.name = "ScriptEnd";
  }
}

/**
 * errno and text for the socket errors a client can cause, as nginx prints them, by the error's
 * `name` (the transport's error classes are named after them: ConnectionReset, ...) or its
 * `code` (ECONNRESET, ...). The engine names no runtime: the transport's errors are matched by
 * these two fields.
 */
const OS_ERRORS: Record<string, string> = {
  ConnectionReset: "104: Connection reset by peer",
  ECONNRESET: "104: Connection reset by peer",
  BrokenPipe: "32: Broken pipe",
  EPIPE: "32: Broken pipe",
  ConnectionAborted: "103: Software caused connection abort",
  ECONNABORTED: "103: Software caused connection abort",
  TimedOut: "110: Connection timed out",
  ETIMEDOUT: "110: Connection timed out",
  NotConnected: "107: Transport endpoint is not connected",
  ENOTCONN: "107: Transport endpoint is not connected",
};

/**
 * Describes a socket error like nginx does, e.g. `recv() failed (104: Connection reset by peer)`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { osFailure } from "./halt.ts";
 * const text = osFailure("recv", new Deno.errors.ConnectionReset("reset"));
 * assert.equal(text, "recv() failed (104: Connection reset by peer)");
 * ```
 */
export function osFailure(call: string, err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const key = typeof code === "string" && Object.hasOwn(OS_ERRORS, code) ? code : err.name;
    const text = Object.hasOwn(OS_ERRORS, key) ? OS_ERRORS[key] : undefined;
    if (text) return `${call}() failed (${text})`;
    return `${call}() failed (${err.message})`;
  }
  return `${call}() failed (${String(err)})`;
}

/** Turns anything a step threw into a halt: unexpected errors end the session as "error". */
export function toHalt(err: unknown): SessionHalt {
  if (err instanceof SessionHalt) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SessionHalt("error", `stream echo internal error: ${message}`, "alert");
}
