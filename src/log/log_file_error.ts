/**
 * The error for a log or recording file that cannot be opened.
 *
 * @module
 */
import { openFailed } from "../config/os_error.ts";
import type { Position } from "../config/types.ts";

/**
 * An `access_log` or `echo_record` file (or the CLI's `--record` file) that cannot be opened:
 * `serve()` and `reload()` reject with it (a reload keeps the old config serving), as the CLI
 * refuses to start or reload. The message says what the operating system said and names the
 * directive and where it was written (or the flag), as nginx's `open()` errors do:
 *
 *     open() "/no/such/dir/a.log" failed (No such file or directory)
 *       for "access_log" in se.conf:4
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LogFileOpenError } from "./log_file_error.ts";
 * const err = new LogFileOpenError(
 *   "/no/such/dir/a.log",
 *   new Deno.errors.NotFound("No such file or directory (os error 2)"),
 *   "access_log",
 *   { file: "se.conf", line: 4 },
 * );
 * assert.equal(err.path, "/no/such/dir/a.log");
 * assert.deepEqual([err.file, err.line], ["se.conf", 4]);
 * assert.ok(err.message.endsWith('for "access_log" in se.conf:4'));
 * ```
 */
export class LogFileOpenError extends Error {
  /** The file that could not be opened, as resolved (relative paths against their folder). */
  readonly path: string;
  /** The file of the directive that named it; undefined when a flag named it (`--record`). */
  readonly file: string | undefined;
  /** The 1-based line of that directive; undefined when a flag named it. */
  readonly line: number | undefined;

  /**
   * `what` named `path`: a directive (`"access_log"`, `"echo_record"`) written at `pos`, or a
   * flag (`"--record"`) when there is no `pos`. `cause` is the error opening it raised.
   */
  constructor(path: string, cause: unknown, what: string, pos?: Position) {
    super(
      openFailed(path, cause) +
        (pos ? ` for "${what}" in ${pos.file}:${pos.line}` : ` for ${what}`),
      { cause },
    );
    this.name = "LogFileOpenError";
    this.path = path;
    this.file = pos?.file;
    this.line = pos?.line;
  }
}
