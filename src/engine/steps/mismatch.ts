/**
 * `echo_mismatch_action`: what a failed comparison (`echo_read_literal`,
 * `echo_test_request_data`) does after logging
 * `stream echo: request data mismatch: expected "...", got "..."` at error level.
 *
 * @module
 */
import { SessionHalt } from "../halt.ts";
import type { StepContext } from "../step_context.ts";

/** Bytes of each side shown in the mismatch line before it is shortened with "...". */
export const MISMATCH_SHOWN = 64;

const HEX = "0123456789abcdef";

/**
 * Bytes as a quoted-string body: printable ASCII as is, `"` and `\` escaped, CR LF TAB as
 * `\r` `\n` `\t`, anything else as `\xNN`; at most `limit` bytes, then "...".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeBytes } from "./mismatch.ts";
 * assert.equal(escapeBytes(new Uint8Array([0x50, 0x0d, 0x0a, 0x00, 0x22])), 'P\\r\\n\\x00\\"');
 * ```
 */
export function escapeBytes(bytes: Uint8Array, limit = MISMATCH_SHOWN): string {
  let out = "";
  const n = Math.min(bytes.length, limit);
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 0x22 || b === 0x5c) out += "\\" + String.fromCharCode(b);
    else if (b === 0x0d) out += "\\r";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x09) out += "\\t";
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += "\\x" + HEX[b >> 4] + HEX[b & 15];
  }
  return bytes.length > limit ? out + "..." : out;
}

/**
 * Handles a mismatch per `echo_mismatch_action`: "close" (the default) sends what is queued
 * and closes, "reset" closes with a reset at once, "continue" only logs.
 */
export function mismatch(ctx: StepContext, expected: Uint8Array, got: Uint8Array): void {
  const message = `stream echo: request data mismatch: expected "${escapeBytes(expected)}", ` +
    `got "${escapeBytes(got)}"`;
  switch (ctx.settings.mismatchAction ?? "close") {
    case "continue":
      ctx.log("error", message);
      return;
    case "close":
      throw new SessionHalt("mismatch", message, "error", { drain: true });
    case "reset":
      ctx.setCloseMode("reset");
      throw new SessionHalt("mismatch", message, "error");
  }
}
