/**
 * The access log's escape modes, byte for byte as nginx's (`log_format NAME escape=...`):
 *
 * - `default`: `"`, `\`, bytes below 0x20 and bytes from 0x7f up become `\xXX` (upper-case hex;
 *   a character outside ASCII is escaped byte by byte of its UTF-8 form);
 * - `json`: `"` and `\` get a backslash, `\n \r \t \b \f` are written so, other bytes below 0x20
 *   become `\u00XX`; everything else is kept (nginx's `ngx_escape_json`);
 * - `none`: values are written as they are.
 *
 * Only variable values are escaped, never the format's own text.
 *
 * @module
 */

import type { LogEscape } from "../config/types.ts";

export type { LogEscape };

/** Every escape mode, as written after `escape=`. */
export const LOG_ESCAPES: readonly LogEscape[] = ["default", "json", "none"];

const HEX = "0123456789ABCDEF";
const encoder = new TextEncoder();

// Characters that need no escaping in each mode: one test per value, then a copy.
const PLAIN_DEFAULT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
// deno-lint-ignore no-control-regex
const PLAIN_JSON = /^[^\x00-\x1f"\\]*$/;

function hexByte(b: number): string {
  return `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
}

/**
 * nginx's default access-log escaping (`ngx_stream_log_escape`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeDefault } from "./escape.ts";
 * assert.equal(escapeDefault('a"b\\c\n\x7fé'), "a\\x22b\\x5Cc\\x0A\\x7F\\xC3\\xA9");
 * ```
 */
export function escapeDefault(value: string): string {
  if (PLAIN_DEFAULT.test(value)) return value;
  let out = "";
  for (const b of encoder.encode(value)) {
    out += b < 0x20 || b >= 0x7f || b === 0x22 || b === 0x5c ? hexByte(b) : String.fromCharCode(b);
  }
  return out;
}

const JSON_SHORT: Readonly<Record<number, string>> = {
  0x0a: "\\n",
  0x0d: "\\r",
  0x09: "\\t",
  0x08: "\\b",
  0x0c: "\\f",
  0x22: '\\"',
  0x5c: "\\\\",
};

/**
 * nginx's `escape=json` (`ngx_escape_json`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeJson } from "./escape.ts";
 * assert.equal(escapeJson('a"b\\c\n\x01é'), 'a\\"b\\\\c\\n\\u0001é');
 * ```
 */
export function escapeJson(value: string): string {
  if (PLAIN_JSON.test(value)) return value;
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const short = JSON_SHORT[c];
    if (short !== undefined) out += short;
    else if (c < 0x20) out += `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
    else out += value[i];
  }
  return out;
}

/** The escaping function of `mode`. */
export function escaper(mode: LogEscape): (value: string) => string {
  switch (mode) {
    case "default":
      return escapeDefault;
    case "json":
      return escapeJson;
    case "none":
      return (v) => v;
  }
}
