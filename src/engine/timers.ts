/**
 * Small timer helpers that always clean up after themselves (tests run with sanitizers on).
 *
 * @module
 */

/** What {@linkcode withTimeout} resolves to when the timer fired first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * Waits for `p`, or `ms` milliseconds, whichever comes first. The timer is cleared when `p`
 * settles; `p` keeps a rejection handler, so abandoning it never causes an unhandled rejection.
 *
 * @example
 * ```ts
 * import { TIMED_OUT, withTimeout } from "./timers.ts";
 * const never = new Promise<number>(() => {});
 * console.assert(await withTimeout(never, 5) === TIMED_OUT);
 * console.assert(await withTimeout(Promise.resolve(1), 5) === 1);
 * ```
 */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
  });
  p.catch(() => {});
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A cancellable sleep: resolves after `ms`, or at once when `signal` aborts.
 *
 * @example
 * ```ts
 * import { sleep } from "./timers.ts";
 * const ac = new AbortController();
 * const t = sleep(10_000, ac.signal);
 * ac.abort();
 * await t;
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}
