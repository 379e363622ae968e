/**
 * After a burst of connections closes, the server gives the memory back: V8's pooled heap pages
 * and glibc's freed native memory stayed resident (RSS ~340 MB after 10,000 idle connections
 * closed, with ~6 MB of live heap) until a memory-reducing collection and malloc_trim(0).
 */
import assert from "node:assert/strict";
import { BurstRelease, MIN_PEAK } from "../src/server/burst_release.ts";
import { ByteReader, dropPooledBuffers } from "../src/engine/byte_reader.ts";
import { createLogger, quietLogger } from "../src/log/logger.ts";
import type { ReleaseReport } from "../src/sys/memory.ts";

const REPORT: ReleaseReport = { rssBefore: 300 << 20, rssAfter: 60 << 20, gcMs: 5, trimMs: 1 };

function counting(options: { minPeak: number; quietMs?: number }) {
  const calls: number[] = [];
  const lines: string[] = [];
  const watch = new BurstRelease({
    logger: createLogger((l) => void lines.push(l), { level: "info" }),
    minPeak: options.minPeak,
    quietMs: options.quietMs ?? 1,
    release: () => {
      calls.push(performance.now());
      return Promise.resolve(REPORT);
    },
  });
  return { watch, calls, lines };
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

Deno.test("memory is released once after a burst falls to a quarter of its peak, and said at info", async () => {
  const { watch, calls, lines } = counting({ minPeak: 100 });
  for (let n = 1; n <= 200; n++) watch.note(n);
  for (let n = 199; n >= 0; n--) watch.note(n);
  await tick();
  assert.equal(calls.length, 1);
  assert.match(
    lines[0],
    /\[info\] .*memory returned after a burst of 200 sessions: rss 300M -> 60M/,
  );
});

Deno.test("the release lets go of the reading buffers kept for reuse", async () => {
  const source = { read: () => Promise.resolve(null), cancel: () => Promise.resolve() };
  dropPooledBuffers();
  for (let i = 0; i < 3; i++) {
    const reader = new ByteReader(source, { size: 64 * 1024 });
    await reader.cancel();
    reader.recycle();
  }
  // (a reader takes a pooled buffer back, so three in a row leave one in the pool)
  const { watch, calls } = counting({ minPeak: 100 });
  for (let n = 1; n <= 200; n++) watch.note(n);
  for (let n = 199; n >= 0; n--) watch.note(n);
  await tick();
  assert.equal(calls.length, 1);
  assert.equal(dropPooledBuffers(), 0, "the pool still held buffers after the release");
});

Deno.test("no release below the peak that makes a burst, nor while the count stays high", async () => {
  const small = counting({ minPeak: 100 });
  for (let n = 1; n <= 99; n++) small.watch.note(n);
  for (let n = 98; n >= 0; n--) small.watch.note(n);
  const high = counting({ minPeak: 100 });
  for (let n = 1; n <= 200; n++) high.watch.note(n);
  for (let n = 199; n >= 51; n--) high.watch.note(n);
  await tick();
  assert.equal(small.calls.length, 0);
  assert.equal(high.calls.length, 0);
});

Deno.test("a new burst during the quiet wait puts the release off; stop() cancels it", async () => {
  const { watch, calls } = counting({ minPeak: 100, quietMs: 10 });
  for (let n = 1; n <= 200; n++) watch.note(n);
  watch.note(10); // low: a release is scheduled
  watch.note(150); // busy again before it fires
  await tick(30);
  assert.equal(calls.length, 0);
  watch.note(10);
  watch.stop();
  await tick(30);
  assert.equal(calls.length, 0);
});

Deno.test("a server's RSS falls back after 3,000 idle connections close", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("burst_probe.ts", import.meta.url).pathname, "3000"],
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0);
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(r.ended, 3000);
  const grew = r.closed - r.start;
  assert.ok(grew > 30 << 20, `the burst took only ${grew >> 20} MB`);
  // Without the release RSS stays where it was once the connections closed.
  assert.ok(r.after - r.start < grew / 3, JSON.stringify(r));
  assert.equal(r.lines.length, 1);
});

Deno.test("by default a burst is MIN_PEAK sessions: one fewer never releases, MIN_PEAK does", async () => {
  const releases = (peak: number) => {
    let calls = 0;
    const watch = new BurstRelease({
      logger: quietLogger,
      quietMs: 1,
      release: () => (calls++, Promise.resolve(REPORT)),
    });
    for (let n = 1; n <= peak; n++) watch.note(n);
    for (let n = peak - 1; n >= 0; n--) watch.note(n);
    return { watch, calls: () => calls };
  };
  const below = releases(MIN_PEAK - 1);
  const at = releases(MIN_PEAK);
  await tick();
  below.watch.stop();
  at.watch.stop();
  assert.equal(below.calls(), 0, "a server that never bursts never pays for a release");
  assert.equal(at.calls(), 1);
});
