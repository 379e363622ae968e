import assert from "node:assert/strict";
import { SessionSet } from "../src/server/session_set.ts";
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
