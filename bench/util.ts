/**
 * What several benches share: a file test and the statistics they print. Not a bench itself
 * (`deno task bench` runs the `*_bench.ts` files).
 *
 * @module
 */

/** Whether `path` exists (a program the bench may use, like `/usr/bin/taskset`). */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The `q` quantile of the finite values of `xs` (0.5: the median), interpolated between the two
 * nearest; NaN when there are none.
 */
export function quantile(xs: number[], q: number): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
}

/** The median of the finite values of `xs` (of two middle ones, their mean); NaN when none. */
export function median(xs: number[]): number {
  return quantile(xs, 0.5);
}
