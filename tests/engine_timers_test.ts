import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  after,
  cancelTimer,
  MAX_TIMER_MS,
  sleep,
  startTimer,
  TIMED_OUT,
  type Timer,
  timerStats,
  withTimeout,
} from "../src/engine/timers.ts";

Deno.test("after() waits beyond setTimeout's 2^31-1 ms limit instead of firing at once", async () => {
  let fired = false;
  const cancel = after(MAX_TIMER_MS + 10_000, () => fired = true);
  await new Promise((r) => setTimeout(r, 20));
  assert(!fired);
  cancel();
});

Deno.test("after() fires after short delays and can be cancelled", async () => {
  let fired = 0;
  after(5, () => fired++);
  after(5, () => fired++)();
  await new Promise((r) => setTimeout(r, 30));
  assertEquals(fired, 1);
});

Deno.test("withTimeout() resolves with TIMED_OUT or the value, whichever is first", async () => {
  assertEquals(await withTimeout(new Promise(() => {}), 5), TIMED_OUT);
  assertEquals(await withTimeout(Promise.resolve("v"), 1000), "v");
  // A rejection of an abandoned promise is handled.
  const late = new Promise((_, reject) => setTimeout(() => reject(new Error("late")), 10));
  assertEquals(await withTimeout(late, 1), TIMED_OUT);
  await new Promise((r) => setTimeout(r, 20));
});

Deno.test("sleep() ends early when its signal aborts", async () => {
  const ac = new AbortController();
  const t0 = performance.now();
  const p = sleep(60_000, ac.signal);
  ac.abort();
  await p;
  assert(performance.now() - t0 < 1000);
});

Deno.test("startTimer: cancelling most of many timers compacts the heap; the rest fire in deadline order", async () => {
  const fired: number[] = [];
  const timers: Timer[] = [];
  const deadlines: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const ms = 5 + ((i * 7919) % 40); // spread over 5..44 ms, not in creation order
    deadlines.push(ms);
    timers.push(startTimer(ms, { onTimer: () => fired.push(i) }));
  }
  const kept: number[] = [];
  for (let i = 0; i < timers.length; i++) {
    if (i % 10 === 3) kept.push(i);
    else cancelTimer(timers[i]); // more than half cancelled: the heap is rebuilt on the way
  }
  const stats = timerStats();
  assertEquals(stats.pending, kept.length);
  assert(
    stats.heap <= 2 * stats.pending,
    `the heap kept ${stats.heap} entries for ${stats.pending}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 80));
  assertEquals([...fired].sort((a, b) => a - b), kept, "exactly the kept timers fired");
  for (let k = 1; k < fired.length; k++) {
    const a = fired[k - 1];
    const b = fired[k];
    assert(
      deadlines[a] < deadlines[b] || (deadlines[a] === deadlines[b] && a < b),
      `timer ${a} (${deadlines[a]} ms) fired before ${b} (${deadlines[b]} ms)`,
    );
  }
});
