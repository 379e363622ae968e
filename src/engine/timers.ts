/**
 * Small timer helpers that always clean up after themselves (tests run with sanitizers on).
 *
 * @module
 */

/** The longest delay `setTimeout` honours (longer ones fire at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `fn` after `ms` milliseconds, also beyond {@linkcode MAX_TIMER_MS} (chained timers).
 * Returns a function that cancels it.
 *
 * @example
 * ```ts
 * import { after } from "./timers.ts";
 * const cancel = after(2 ** 33, () => console.log("in about 100 days"));
 * cancel();
 * ```
 */
export function after(ms: number, fn: () => void): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const deadline = performance.now() + Math.max(0, ms);
  const arm = (left: number) => {
    timer = setTimeout(() => {
      const rest = deadline - performance.now();
      if (rest > 1 && left > MAX_TIMER_MS) arm(rest);
      else fn();
    }, Math.min(Math.max(0, left), MAX_TIMER_MS));
  };
  arm(Math.max(0, ms));
  return () => clearTimeout(timer);
}

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
  let cancel = () => {};
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    cancel = after(ms, () => resolve(TIMED_OUT));
  });
  p.catch(() => {});
  return Promise.race([p, timeout]).finally(() => cancel());
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
      cancel();
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const cancel = after(ms, done);
    signal?.addEventListener("abort", done, { once: true });
  });
}
