/**
 * Why a session stops before (or instead of) finishing its script: a value steps throw and the
 * runner logs once.
 *
 * @module
 */
import type { LogLevel } from "../log/logger.ts";
import type { SessionEnd } from "./types.ts";

/**
 * Thrown (or raised asynchronously) to end a session. `level` is where the runner logs
 * `message`; no level means the end is quiet.
 */
export class SessionHalt extends Error {
  /** How the session ends. */
  readonly end: SessionEnd;
  /** Log level for `message`, or undefined for a quiet end. */
  readonly level: LogLevel | undefined;

  constructor(end: SessionEnd, message: string, level?: LogLevel) {
    super(message);
    this.name = "SessionHalt";
    this.end = end;
    this.level = level;
  }
}

/** errno and text for the socket errors a client can cause, as nginx prints them. */
const OS_ERRORS: [new (...args: never[]) => Error, string][] = [
  [Deno.errors.ConnectionReset, "104: Connection reset by peer"],
  [Deno.errors.BrokenPipe, "32: Broken pipe"],
  [Deno.errors.ConnectionAborted, "103: Software caused connection abort"],
  [Deno.errors.TimedOut, "110: Connection timed out"],
  [Deno.errors.NotConnected, "107: Transport endpoint is not connected"],
];

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
  for (const [cls, text] of OS_ERRORS) {
    if (err instanceof cls) return `${call}() failed (${text})`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `${call}() failed (${message})`;
}

/** Turns anything a step threw into a halt: unexpected errors end the session as "error". */
export function toHalt(err: unknown): SessionHalt {
  if (err instanceof SessionHalt) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SessionHalt("error", `stream echo internal error: ${message}`, "alert");
}
