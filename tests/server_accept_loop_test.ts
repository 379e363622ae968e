/** The accept loop's back-off after accept() errors can be cut short by a stop. */
import assert from "node:assert/strict";
import { acceptLoop } from "../src/server/accept_loop.ts";
import { quietLogger } from "../src/log/logger.ts";

/** A listener whose accept() always fails with EMFILE (out of file descriptors). */
function exhaustedListener(): Deno.Listener & { calls: number } {
  const l = {
    calls: 0,
    accept(): Promise<Deno.Conn> {
      l.calls++;
      return Promise.reject(
        Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" }),
      );
    },
  };
  return l as unknown as Deno.Listener & { calls: number };
}

Deno.test("a stop ends the accept loop's back-off pause at once instead of waiting it out", async () => {
  const listener = exhaustedListener();
  const abort = new AbortController();
  let stopped = false;
  const loop = acceptLoop(listener, () => {}, {
    logger: quietLogger,
    stopped: () => stopped,
    exhaustedDelay: 1000, // the longest pause the loop takes
    signal: abort.signal,
  });
  while (listener.calls === 0) await new Promise((r) => setTimeout(r, 1));
  await new Promise((r) => setTimeout(r, 20)); // now inside the 1 s pause
  const t0 = performance.now();
  stopped = true;
  abort.abort();
  await loop;
  const ms = performance.now() - t0;
  assert.ok(ms < 200, `the loop ended ${ms.toFixed(0)} ms after the stop`);
  assert.equal(listener.calls, 1, "no accept() after the stop");
});

Deno.test("without a stop the back-off pause doubles after each error in a row", async () => {
  const listener = exhaustedListener();
  const abort = new AbortController();
  let stopped = false;
  const loop = acceptLoop(listener, () => {}, {
    logger: quietLogger,
    stopped: () => stopped,
    exhaustedDelay: 20,
    signal: abort.signal,
  });
  await new Promise((r) => setTimeout(r, 150)); // pauses of 20, 40, 80 ms: 3 or 4 calls
  stopped = true;
  abort.abort();
  await loop;
  assert.ok(listener.calls >= 2 && listener.calls <= 5, `${listener.calls} accept() calls`);
});

Deno.test("a connection handler that throws is logged and the loop goes on accepting", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const lines: string[] = [];
  let stopped = false;
  let calls = 0;
  const loop = acceptLoop(listener, (conn) => {
    conn.close();
    if (++calls === 1) throw new Error("boom");
  }, {
    logger: {
      enabled: () => true,
      log: (level, message) => void lines.push(`${level} ${message}`),
    },
    stopped: () => stopped,
  });
  for (let i = 0; i < 2; i++) {
    const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    while (calls <= i) await new Promise((r) => setTimeout(r, 1));
    client.close();
  }
  stopped = true;
  listener.close();
  assert.equal(await loop, undefined);
  assert.equal(calls, 2);
  assert.deepEqual(lines, ["alert accepting a connection failed: Error: boom"]);
});
