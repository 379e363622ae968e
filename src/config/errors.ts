import type { Position } from "./types.ts";

/**
 * A mistake in config text, always with the file and line it was found at. The message reads
 * like nginx's and ends with ` in FILE:LINE`, e.g. `unknown directive "ech" in se.conf:12`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError } from "./errors.ts";
 * const err = new ConfigError('unknown directive "ech"', { file: "se.conf", line: 12 });
 * assert.equal(err.message, 'unknown directive "ech" in se.conf:12');
 * ```
 */
export class ConfigError extends Error {
  /** The message without the location suffix. */
  readonly reason: string;
  /** The file the mistake is in. */
  readonly file: string;
  /** The 1-based line the mistake is on. */
  readonly line: number;

  /** Makes the error for `reason` found at `pos`. */
  constructor(reason: string, pos: Position, options?: ErrorOptions) {
    super(`${reason} in ${pos.file}:${pos.line}`, options);
    this.name = "ConfigError";
    this.reason = reason;
    this.file = pos.file;
    this.line = pos.line;
  }
}
