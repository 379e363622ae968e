import assert from "node:assert/strict";
import { SessionEntry, SessionSet } from "../src/server/session_set.ts";
import type { StopSignal } from "../src/engine/types.ts";

Deno.test("SessionSet: abortAll tells each session's listeners once, as an AbortSignal would", async () => {
  const set = new SessionSet();
  const heard: string[] = [];
  let signal!: StopSignal;
  let release!: () => void;
  set.run((s) => {
    signal = s;
    const removed = () => heard.push("removed");
    s.addEventListener("abort", () => heard.push("first"), { once: true });
    s.addEventListener("abort", removed);
    s.removeEventListener("abort", removed);
    s.addEventListener("abort", () => heard.push("second"));
    return new Promise<void>((r) => release = r);
  });
  assert.equal(signal.aborted, false);
  set.abortAll();
  set.abortAll(); // twice: nothing more
  assert.equal(signal.aborted, true);
  assert.deepEqual(heard, ["first", "second"]);
  signal.addEventListener("abort", () => heard.push("late")); // after the fact: never called
  release();
  await set.drained();
  assert.equal(set.size, 0);
  assert.deepEqual(heard, ["first", "second"]);
});

Deno.test("SessionSet: an entry added with add() leaves with end(), once, and drained() waits for its done", async () => {
  const set = new SessionSet();
  let ended = 0;
  set.onEnded = () => ended++;
  const entry = new SessionEntry();
  set.add(entry);
  let finish!: () => void;
  entry.done = new Promise<void>((r) => finish = r).then(() => set.end(entry));
  assert.equal(set.size, 1);
  let drained = false;
  const waiting = set.drained().then(() => drained = true);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(drained, false);
  finish();
  await waiting;
  set.end(entry); // twice: nothing more
  assert.equal(set.size, 0);
  assert.equal(ended, 1);
});

Deno.test("SessionSet: sessions leave in any order; abortAll reaches each one left, oldest first", async () => {
  const set = new SessionSet();
  const entries = Array.from({ length: 5 }, () => new SessionEntry());
  const aborted: number[] = [];
  entries.forEach((e, i) => {
    set.add(e);
    e.addEventListener("abort", () => aborted.push(i));
  });
  set.add(entries[0]); // twice: counted once
  assert.equal(set.size, 5);
  set.end(entries[2]); // the middle
  set.end(entries[4]); // the newest
  set.end(entries[0]); // the oldest
  assert.equal(set.size, 2);
  set.abortAll();
  assert.deepEqual(aborted, [1, 3]);
  set.end(entries[1]);
  set.end(entries[3]);
  assert.equal(set.size, 0);
  await set.drained();
});
