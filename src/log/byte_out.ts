/**
 * The two byte writers that log lines encoded straight into a sink's buffer share (an access-log
 * line, src/log/access_log.ts; a recording's JSON line, src/log/record_line.ts): plain functions
 * over a buffer and a position, returning the new position.
 *
 * @module
 */

/**
 * Copies `bytes` into `out` at `at` and returns where they end. Short runs go byte by byte (for a
 * few bytes that is faster than `set()`, which the long ones use).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { copyBytes } from "./byte_out.ts";
 * const out = new Uint8Array(8);
 * assert.equal(copyBytes(out, 2, new Uint8Array([1, 2, 3])), 5);
 * assert.deepEqual([...out], [0, 0, 1, 2, 3, 0, 0, 0]);
 * ```
 */
export function copyBytes(out: Uint8Array, at: number, bytes: Uint8Array): number {
  const n = bytes.length;
  if (n > 24) {
    out.set(bytes, at);
    return at + n;
  }
  for (let i = 0; i < n; i++) out[at++] = bytes[i];
  return at;
}

/**
 * Whether {@linkcode writeDigits} can write `n`: an integer from 0 to 2^31-1 (a byte count, a
 * connection number, a port). Anything else is written as its text by the caller.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isCount } from "./byte_out.ts";
 * assert.deepEqual([0, 2147483647, -1, 1.5, NaN, 2 ** 31].map(isCount), [true, true, false, false, false, false]);
 * ```
 */
export function isCount(n: number): boolean {
  return n >= 0 && n <= 0x7fffffff && (n | 0) === n;
}

/**
 * Writes the decimal digits of `n`, an integer from 0 to 2^31-1 ({@linkcode isCount}), into `out`
 * at `at` and returns where they end: `String(n)`'s bytes, without a string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeDigits } from "./byte_out.ts";
 * const out = new Uint8Array(12);
 * const end = writeDigits(out, 0, 2147483647);
 * assert.equal(new TextDecoder().decode(out.subarray(0, end)), "2147483647");
 * assert.equal(writeDigits(out, 0, 0), 1);
 * ```
 */
export function writeDigits(out: Uint8Array, at: number, n: number): number {
  const digits = n < 10
    ? 1
    : n < 100
    ? 2
    : n < 1000
    ? 3
    : n < 10000
    ? 4
    : n < 100000
    ? 5
    : n < 1000000
    ? 6
    : n < 10000000
    ? 7
    : n < 100000000
    ? 8
    : n < 1000000000
    ? 9
    : 10;
  const end = at + digits;
  let p = end;
  let x = n;
  do {
    const q = (x / 10) | 0;
    out[--p] = 48 + x - q * 10;
    x = q;
  } while (x > 0);
  return end;
}
