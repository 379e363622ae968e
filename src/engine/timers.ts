/**
 * Small timer helpers that always clean up after themselves (tests run with sanitizers on).
 *
 * @module
 */

/** The longest delay `setTimeout` honours (longer ones fire at once). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

let cachedNow = -1;
function forget(): void {
  cachedNow = -1;
}

/**
 * `performance.now()`, read once per turn of the event loop (the value is kept until the
 * microtasks queued so far have run): every session reading the clock in the same turn shares one
 * read (each read is a call into the runtime). Good for deadlines of timers, which are set in
 * whole milliseconds; not for measuring durations inside one turn.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clock } from "./timers.ts";
 * assert.equal(clock(), clock());
 * ```
 */
export function clock(): number {
  if (cachedNow < 0) {
    cachedNow = performance.now();
    queueMicrotask(forget);
  }
  return cachedNow;
}

/** What a timer calls when it fires: an object with a method, so arming one needs no closure. */
export interface TimerTarget {
  /** Called once when the timer fires (never after it was cancelled). */
  onTimer(): void;
}

/**
 * A pending timer ({@linkcode after}, {@linkcode startTimer}): its deadline, creation order, and
 * what it calls (null once fired or cancelled). Hand it to {@linkcode cancelTimer} only.
 */
export interface Timer {
  readonly at: number;
  readonly seq: number;
  fn: TimerTarget | null;
}

/** Adapts a plain callback for {@linkcode after}. */
class CallbackTarget implements TimerTarget {
  constructor(readonly onTimer: () => void) {}
}

/**
 * Every pending {@linkcode after}, in a min-heap by deadline (then creation order), behind one
 * shared `setTimeout` armed for the earliest: the lingering probe and the read and settle timers
 * of every session cost a heap push and a flag instead of a setTimeout and a clearTimeout each.
 * Cancelled entries stay in the heap until they reach its top, or until they are more than half
 * of it (then the heap is rebuilt without them: a read timer of 60 s cancelled by every read
 * would otherwise keep a million dead entries under load); when none is left pending the shared
 * timer is cleared, so nothing outlives the last pending timer.
 */
const heap: Timer[] = [];
let pending = 0;
let created = 0;
let shared: ReturnType<typeof setTimeout> | undefined;
/** The deadline the shared timer was armed for (capped at {@linkcode MAX_TIMER_MS} ahead). */
let armedAt = Infinity;

function earlier(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function heapPush(e: Timer): void {
  let i = heap.push(e) - 1;
  while (i > 0) {
    const up = (i - 1) >> 1;
    const parent = heap[up];
    if (!earlier(e, parent)) break;
    heap[i] = parent;
    heap[up] = e;
    i = up;
  }
}

function heapPop(): void {
  const last = heap.pop()!;
  if (heap.length === 0) return;
  heap[0] = last;
  siftDown(0);
}

function siftDown(start: number): void {
  const n = heap.length;
  for (let i = start;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let min = i;
    if (l < n && earlier(heap[l], heap[min])) min = l;
    if (r < n && earlier(heap[r], heap[min])) min = r;
    if (min === i) return;
    const e = heap[i];
    heap[i] = heap[min];
    heap[min] = e;
    i = min;
  }
}

/** Drops the cancelled entries and restores the heap order (O(n), bottom-up). */
function compact(): void {
  let live = 0;
  for (let i = 0; i < heap.length; i++) {
    const e = heap[i];
    if (e.fn !== null) heap[live++] = e;
  }
  heap.length = live;
  for (let i = (live >> 1) - 1; i >= 0; i--) siftDown(i);
}

/**
 * How many timers are pending, and how many entries the heap holds (pending ones plus cancelled
 * ones not dropped yet): for tests and diagnostics.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cancelTimer, startTimer, timerStats } from "./timers.ts";
 * const before = timerStats().pending;
 * const t = startTimer(1000, { onTimer() {} });
 * assert.equal(timerStats().pending, before + 1);
 * cancelTimer(t);
 * assert.equal(timerStats().pending, before);
 * ```
 */
export function timerStats(): { pending: number; heap: number } {
  return { pending, heap: heap.length };
}

/** Heaps smaller than this are never compacted (cancelled entries are cheap there). */
const COMPACT_MIN = 1024;

/** Arms the shared timer for the earliest pending deadline, unless it already is early enough. */
function arm(now = performance.now()): void {
  while (heap.length > 0 && heap[0].fn === null) heapPop();
  if (heap.length === 0) return;
  const at = Math.min(heap[0].at, now + MAX_TIMER_MS);
  if (shared !== undefined) {
    if (armedAt <= at) return;
    clearTimeout(shared);
  }
  armedAt = at;
  shared = setTimeout(fire, Math.max(0, at - now));
}

function fire(): void {
  shared = undefined;
  // Everything due by now, or by the deadline the timer was armed for (a timer of its own
  // would have fired with this one), in deadline order.
  const cutoff = Math.max(performance.now(), armedAt);
  armedAt = Infinity;
  const due: TimerTarget[] = [];
  while (heap.length > 0 && (heap[0].fn === null || heap[0].at <= cutoff)) {
    const e = heap[0];
    heapPop();
    if (e.fn === null) continue;
    due.push(e.fn);
    e.fn = null;
    pending--;
  }
  if (pending === 0) heap.length = 0;
  else arm();
  for (const target of due) {
    try {
      target.onTimer();
    } catch (err) {
      // As from a timer of its own: an uncaught error, without skipping the other callbacks.
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

/**
 * Calls `fn` after `ms` milliseconds, also beyond {@linkcode MAX_TIMER_MS} (chained timers).
 * Returns a function that cancels it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { after } from "./timers.ts";
 * let fired = 0;
 * const cancel = after(2 ** 33, () => fired++); // in about 100 days
 * cancel();
 * const t0 = performance.now();
 * await new Promise<void>((resolve) => after(20, resolve));
 * assert.ok(performance.now() - t0 >= 15);
 * assert.equal(fired, 0);
 * ```
 */
export function after(ms: number, fn: () => void): () => void {
  const e = startTimer(ms, new CallbackTarget(fn));
  return () => cancelTimer(e);
}

/**
 * Calls `target.onTimer()` after `ms` milliseconds: {@linkcode after} without a closure per
 * timer, for the timers every session arms (the read timer, the lingering wait). Returns the
 * timer, for {@linkcode cancelTimer}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cancelTimer, startTimer } from "./timers.ts";
 * let fired = 0;
 * const t = startTimer(10, { onTimer: () => fired++ });
 * cancelTimer(t);
 * cancelTimer(t); // a second cancel is a no-op
 * await new Promise((resolve) => setTimeout(resolve, 20));
 * assert.equal(fired, 0);
 * ```
 */
export function startTimer(ms: number, target: TimerTarget): Timer {
  const now = clock();
  const e: Timer = { at: now + Math.max(0, ms), seq: created++, fn: target };
  pending++;
  heapPush(e);
  arm(now);
  return e;
}

/** Cancels a timer from {@linkcode startTimer}; a no-op once it fired or was cancelled. */
export function cancelTimer(e: Timer): void {
  if (e.fn === null) return;
  e.fn = null;
  if (--pending === 0) {
    heap.length = 0;
    if (shared !== undefined) clearTimeout(shared);
    shared = undefined;
    armedAt = Infinity;
  } else if (heap.length > COMPACT_MIN && heap.length > 2 * pending) {
    compact(); // amortised O(1) per cancel: at least half of the heap goes each time
  }
}

/** What {@linkcode withTimeout} resolves to when the timer fired first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * Waits for `p`, or `ms` milliseconds, whichever comes first. The timer is cleared when `p`
 * settles; `p` keeps a rejection handler, so abandoning it never causes an unhandled rejection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TIMED_OUT, withTimeout } from "./timers.ts";
 * const never = new Promise<number>(() => {});
 * assert.equal(await withTimeout(never, 5), TIMED_OUT);
 * assert.equal(await withTimeout(Promise.resolve(1), 5), 1);
 * ```
 */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  // One promise and one timer entry (no race, no finally): this runs for every read.
  return new Promise((resolve, reject) => {
    const cancel = after(ms, () => resolve(TIMED_OUT));
    p.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (err) => {
        cancel();
        reject(err);
      },
    );
  });
}

/**
 * A cancellable sleep: resolves after `ms`, or at once when `signal` aborts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sleep } from "./timers.ts";
 * const ac = new AbortController();
 * const t0 = performance.now();
 * const t = sleep(10_000, ac.signal);
 * ac.abort();
 * await t;
 * assert.ok(performance.now() - t0 < 5_000, "the abort ended the sleep at once");
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
