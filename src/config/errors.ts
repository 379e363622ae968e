import type { Position } from "./types.ts";

/** Options of {@link ConfigError}. */
export interface ConfigErrorOptions extends ErrorOptions {
  /**
   * Said after the location, e.g. `the quote opened in se.conf:4` or
   * `did you mean "echo_read_line"?`.
   */
  hint?: string;
}

/**
 * A mistake in config text, always with the file and line it was found at. The message reads
 * like nginx's: the reason, then ` in FILE:LINE`, then a hint when there is one, e.g.
 * `unknown directive "ech" in se.conf:12, did you mean "echo"?`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError } from "./errors.ts";
 * const err = new ConfigError('unknown directive "ech"', { file: "se.conf", line: 12 });
 * assert.equal(err.message, 'unknown directive "ech" in se.conf:12');
 * const hinted = new ConfigError("unexpected end of file", { file: "a", line: 9 }, {
 *   hint: "the quote opened in a:4",
 * });
 * assert.equal(hinted.message, "unexpected end of file in a:9, the quote opened in a:4");
 * ```
 */
export class ConfigError extends Error {
  /** The message without the location suffix (and without the hint). */
  readonly reason: string;
  /** The file the mistake is in. */
  readonly file: string;
  /** The 1-based line the mistake is on. */
  readonly line: number;
  /** What the message says after the location, if anything. */
  readonly hint?: string;

  /** Makes the error for `reason` found at `pos`. */
  constructor(reason: string, pos: Position, options?: ConfigErrorOptions) {
    const where = `${reason} in ${pos.file}:${pos.line}`;
    super(options?.hint ? `${where}, ${options.hint}` : where, options);
    this.name = "ConfigError";
    this.reason = reason;
    this.file = pos.file;
    this.line = pos.line;
    if (options?.hint) this.hint = options.hint;
  }
}
