/**
 * OS errors in nginx's words: `open() "/etc/se.conf" failed (No such file or directory)`.
 *
 * @module
 */

import { osReason } from "./read_file.ts";

/**
 * Words for an OS error, like nginx's `(2: No such file or directory)` without the number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { describeError } from "./os_error.ts";
 * assert.equal(describeError(new Deno.errors.NotFound("x")), "No such file or directory");
 * ```
 */
export function describeError(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "No such file or directory";
  if (err instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "Is a directory";
  if (err instanceof Deno.errors.NotADirectory) return "Not a directory";
  if (typeof (err as { code?: unknown } | null)?.code === "string") {
    const reason = osReason(err);
    // A code node's table does not know (ENOSPC from Deno) keeps Deno's text: trimmed below.
    if (!/\(os error \d+\)/.test(reason)) return reason;
  }
  if (err instanceof Error) {
    // Deno's text is "<strerror> (os error N): <call> '<path>'": keep the strerror part.
    const m = /^(.*?) \(os error \d+\)/.exec(err.message);
    return m ? m[1] : err.message;
  }
  return String(err);
}

/**
 * `open() "PATH" failed (REASON)`, nginx's phrase for a file that cannot be opened.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openFailed } from "./os_error.ts";
 * const msg = openFailed("/x.pid", new Deno.errors.PermissionDenied("x"));
 * assert.equal(msg, 'open() "/x.pid" failed (Permission denied)');
 * ```
 */
export function openFailed(path: string, err: unknown): string {
  return `open() "${path}" failed (${describeError(err)})`;
}
