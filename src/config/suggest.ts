/**
 * "Did you mean": the known name closest to a mistyped one, when it is close enough to be
 * a likely typo (a few letters wrong, missing, extra or swapped), else nothing.
 *
 * @module
 */

/** Names longer than this are not compared (a typo of a directive name is short). */
const LONGEST = 64;

/**
 * Edit distance with adjacent swaps (optimal string alignment), giving up past `max`:
 * returns `max + 1` as soon as the distance must exceed `max`.
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, prev2[j - 2] + 1);
      }
      row.push(d);
      if (d < best) best = d;
    }
    if (best > max) return max + 1;
    prev2 = prev;
    prev = row;
  }
  return prev[b.length];
}

/**
 * The closest of `known` to `name` when it is a likely typo: at most one edit for names of
 * up to 7 characters, two up to 11, three beyond (`echo_readline` -> `echo_read_line`).
 * Ties go to the first in `known`. `undefined` when nothing is that close.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closest } from "./suggest.ts";
 * assert.equal(closest("echo_readline", ["echo", "echo_read_line"]), "echo_read_line");
 * assert.equal(closest("banana", ["echo", "listen"]), undefined);
 * ```
 */
export function closest(name: string, known: Iterable<string>): string | undefined {
  if (name.length === 0 || name.length > LONGEST) return undefined;
  const max = name.length <= 7 ? 1 : name.length <= 11 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = max + 1;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate, bestDistance - 1);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
