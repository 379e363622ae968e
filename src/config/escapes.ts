/**
 * The options of string-taking step directives: `-e` (extended escapes, like `echo -e`),
 * `-v` (variables in output) and `-n` (no newline, `echo` only), and the decoding of `-e`
 * escapes into a binary string (one char per byte).
 *
 * @module
 */

import { showToken } from "./bytes.ts";
import { splitEchoArgs } from "./echo_args.ts";
import { ConfigError } from "./errors.ts";
import type { Directive } from "./parser.ts";
import type { Position } from "./types.ts";

/** The options a directive was given, and its value arguments. */
export interface StringArgs {
  /** `-e`: decode extended escapes. */
  e: boolean;
  /** `-v`: fill in variables (output directives). */
  v: boolean;
  /** `-n`: no trailing newline (`echo`). */
  n: boolean;
  /** The value arguments, in order. */
  values: string[];
}

/**
 * Splits `d`'s arguments into options and values (the module's option rules), allowing only
 * the options in `allowed` (e.g. "env" for `echo`).
 */
export function stringArgs(d: Directive, allowed: string): StringArgs {
  const { opts, values } = splitEchoArgs(d.args);
  const out: StringArgs = { e: false, v: false, n: false, values };
  for (const opt of opts) {
    if (opt.length === 1 && allowed.includes(opt) && (opt === "e" || opt === "v" || opt === "n")) {
      out[opt] = true;
      continue;
    }
    throw new ConfigError(
      `stream echo sees unknown option "-${showToken(opt)}" in "${d.name}"`,
      d.pos,
    );
  }
  return out;
}

const SIMPLE: Record<string, number> = {
  "0": 0x00,
  a: 0x07,
  b: 0x08,
  e: 0x1b,
  f: 0x0c,
  v: 0x0b,
  "\\": 0x5c,
};

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Decodes `-e` escapes: `\xNN`, `\0`, `\a`, `\b`, `\e`, `\f`, `\v` and `\\`; any other
 * backslash stays as written (so `\d` in a regex keeps working). A `\x` without two hex
 * digits is an error naming the directive.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeEscapes } from "./escapes.ts";
 * const pos = { file: "se.conf", line: 1 };
 * assert.equal(decodeEscapes("\\x00\\x7f\\e\\d", "echo", pos), "\x00\x7f\x1b\\d");
 * ```
 */
export function decodeEscapes(text: string, directive: string, pos: Position): string {
  if (!text.includes("\\")) return text;
  let out = "";
  let i = 0;
  while (i < text.length) {
    const slash = text.indexOf("\\", i);
    if (slash < 0 || slash === text.length - 1) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, slash);
    const c = text[slash + 1];
    if (c === "x") {
      const hi = hexDigit(text.charCodeAt(slash + 2));
      const lo = hexDigit(text.charCodeAt(slash + 3));
      if (hi < 0 || lo < 0) {
        const bad = text.slice(slash, slash + 4);
        throw new ConfigError(
          `stream echo sees bad escape "${
            showToken(bad)
          }" in "${directive}": "\\x" takes two hex digits`,
          pos,
        );
      }
      out += String.fromCharCode(hi * 16 + lo);
      i = slash + 4;
      continue;
    }
    const simple = SIMPLE[c];
    if (simple !== undefined) {
      out += String.fromCharCode(simple);
    } else {
      out += "\\" + c;
    }
    i = slash + 2;
  }
  return out;
}
