/** A graceful stop says what it waits for, as sessions finish, at most once per interval. */
import assert from "node:assert/strict";
import { sessions, ShutdownProgress } from "../src/server/shutdown_progress.ts";
import { startServer } from "../src/server/server.ts";
import { parseConfig } from "../src/config/loader.ts";
import type { Logger } from "../src/log/logger.ts";

/** A logger that keeps each message with the time it was logged. */
function recorder(): Logger & { lines: { at: number; message: string }[] } {
  const lines: { at: number; message: string }[] = [];
  return {
    lines,
    enabled: () => true,
    log: (_level, message) => void lines.push({ at: performance.now(), message }),
  };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("sessions(): singular and plural", () => {
  assert.deepEqual([0, 1, 2].map(sessions), ["0 sessions", "1 session", "2 sessions"]);
});

Deno.test("a stop with no session in flight says nothing", () => {
  const log = recorder();
  const p = new ShutdownProgress(log, () => 0, { intervalMs: 40 });
  p.begin();
  p.changed();
  p.end();
  assert.deepEqual(log.lines, []);
});

Deno.test("sessions finishing quickly: one line at once, the rest held to one per interval, the last at once", async () => {
  const log = recorder();
  let left = 4;
  const p = new ShutdownProgress(log, () => left, { intervalMs: 60 });
  p.begin();
  left = 3;
  p.changed(); // within the interval: held
  left = 2;
  p.changed(); // still held (one trailing line pending)
  await tick(90); // the trailing line reports the count at that time
  left = 1;
  p.changed(); // more than an interval since the first line, but the trailing one was just now
  left = 0;
  p.changed(); // the end is said at once
  await tick(90);
  assert.deepEqual(log.lines.map((l) => l.message), [
    "waiting for 4 sessions to finish",
    "waiting for 2 sessions to finish",
    "all sessions finished",
  ]);
  const gap = log.lines[1].at - log.lines[0].at;
  assert.ok(gap >= 55 && gap < 500, `second line ${gap.toFixed(0)} ms after the first`);
});

Deno.test("an unchanged count is not repeated, and end() cancels a pending line", async () => {
  const log = recorder();
  let left = 2;
  const p = new ShutdownProgress(log, () => left, { intervalMs: 30 });
  p.begin();
  p.changed(); // same count: the trailing line will have nothing new to say
  await tick(60);
  left = 1;
  p.changed(); // reported at once: the interval has passed
  left = 1;
  p.changed(); // held
  p.end();
  await tick(60);
  assert.deepEqual(log.lines.map((l) => l.message), [
    "waiting for 2 sessions to finish",
    "waiting for 1 session to finish",
  ]);
});

Deno.test("the server's graceful stop logs the sessions it waits for and when they are all done", async () => {
  const log = recorder();
  const config = parseConfig(
    "stream { server { listen 127.0.0.1:0; echo hi; echo_flush_wait; echo_sleep 0.15; } }",
  );
  const server = await startServer(config, { logger: log });
  const port = (server.addrs[0] as Deno.NetAddr).port;
  const clients = await Promise.all([1, 2].map(() => Deno.connect({ port })));
  const buf = new Uint8Array(16);
  for (const c of clients) await c.read(buf); // both sessions are running
  const t0 = performance.now();
  await server.shutdown();
  const ms = performance.now() - t0;
  for (const c of clients) c.close();
  const said = log.lines.map((l) => l.message).filter((m) => /sessions? (to )?finish/.test(m));
  assert.deepEqual(said, ["waiting for 2 sessions to finish", "all sessions finished"]);
  assert.ok(ms >= 100 && ms < 1000, `the stop took ${ms.toFixed(0)} ms`);
});

Deno.test("a graceful stop asked for by the observer of the last session (--exit-after) waits for no session", async () => {
  const log = recorder();
  const config = parseConfig("stream { server { listen 127.0.0.1:0; echo hi; } }");
  let counted = -1;
  let stopped: Promise<void> | undefined;
  const server = await startServer(config, {
    logger: log,
    observer: {
      ended() {
        counted = server.sessionCount; // the session that just ended is no longer in flight
        stopped = server.shutdown();
      },
    },
  });
  const port = (server.addrs[0] as Deno.NetAddr).port;
  const conn = await Deno.connect({ port });
  assert.equal(await new Response(conn.readable).text(), "hi\n");
  for (let i = 0; i < 100 && !stopped; i++) await tick(10);
  assert.ok(stopped, "the observer saw the session end");
  await stopped;
  assert.equal(counted, 0);
  const said = log.lines.map((l) => l.message).filter((m) => /sessions? (to )?finish/.test(m));
  assert.deepEqual(said, []);
});
