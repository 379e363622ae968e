/** Connection numbers of a process with workers: one shared counter, unique across restarts. */
import assert from "node:assert/strict";
import { connectionCounter, connectionIds } from "../src/lifecycle/connection_ids.ts";

Deno.test("numbers start at 1 and go up by one, whichever thread takes them", () => {
  const counter = connectionCounter();
  const main = connectionIds(counter);
  const worker = connectionIds(counter);
  assert.deepEqual([main(), worker(), worker(), main()], [1, 2, 3, 4]);
});

Deno.test("a restarted worker never reuses a number its dead predecessor handed out", () => {
  const counter = connectionCounter();
  const dead = connectionIds(counter);
  const main = connectionIds(counter);
  const taken = new Set<number>();
  // More than the 1,000,000 connections the former per-restart offset left room for.
  for (let i = 0; i < 1_000_001; i++) taken.add(dead());
  taken.add(main());
  const restarted = connectionIds(counter);
  for (let i = 0; i < 1000; i++) {
    const id = restarted();
    assert.ok(!taken.has(id), `number ${id} was handed out twice`);
    taken.add(id);
  }
  assert.equal(taken.size, 1_000_001 + 1 + 1000);
});

Deno.test("threads sharing the counter take distinct numbers concurrently", async () => {
  const counter = connectionCounter();
  const source = `
    self.onmessage = (e) => {
      const cell = new BigInt64Array(e.data);
      const out = [];
      for (let i = 0; i < 20000; i++) out.push(Number(Atomics.add(cell, 0, 1n)) + 1);
      self.postMessage(out);
    };`;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    const theirs = new Promise<number[]>((r) => worker.onmessage = (e) => r(e.data));
    worker.postMessage(counter);
    const take = connectionIds(counter);
    const mine: number[] = [];
    for (let i = 0; i < 20000; i++) mine.push(take());
    const all = new Set([...mine, ...await theirs]);
    assert.equal(all.size, 40000);
    assert.equal(Math.max(...all), 40000);
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});
