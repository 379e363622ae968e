import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { after, MAX_TIMER_MS, sleep, TIMED_OUT, withTimeout } from "../src/engine/timers.ts";

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
