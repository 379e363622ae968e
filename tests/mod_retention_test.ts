/**
 * What the library keeps: at most `maxTranscripts` finished transcripts (the oldest dropped and
 * counted), `takeTranscripts()` to hand them over, nothing at all per session with
 * `record: false`; and the handle's smaller promises (one stop handler however many waits,
 * a clear error for `serve(null)`, `await using` fast on every handle).
 */
import assert from "node:assert/strict";
import { serve, type StreamEchoServer } from "../mod.ts";
import { parseConfig } from "../src/config/loader.ts";
import { startServer } from "../src/server/server.ts";
import { StreamEchoServer as Handle } from "../src/lib/handle.ts";
import { TranscriptLog } from "../src/lib/transcript.ts";
import type { ServerHandle } from "../src/server/types.ts";
import { startServerGroup } from "../src/lifecycle/workers.ts";
import { quietLogger } from "../src/log/logger.ts";

async function visit(server: StreamEchoServer<Deno.NetAddr>, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
    await new Response(conn.readable).arrayBuffer();
  }
}

async function ended(server: StreamEchoServer<Deno.NetAddr>, n: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (server.endedSessions < n) {
    assert.ok(Date.now() < deadline, `only ${server.endedSessions} of ${n} sessions ended`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

Deno.test("a server holds at most maxTranscripts transcripts, the newest, and counts those dropped", async () => {
  await using server = await serve({ server: "echo hi;", maxTranscripts: 3 });
  await visit(server, 5);
  await ended(server, 5);
  assert.deepEqual(server.transcripts().map((t) => t.id), [3, 4, 5]);
  assert.equal(server.droppedTranscripts, 2);
  assert.equal(server.endedSessions, 5);
});

Deno.test("the default holds 500 transcripts", () => {
  const log = new TranscriptLog();
  const info = { id: 0, serverIndex: 0, remoteAddr: Deno.listen, localAddr: Deno.listen };
  for (let i = 1; i <= 501; i++) {
    const result = { end: "eof" as const, bytesIn: 0, bytesOut: 0 };
    log.observer.ended!({ ...info, id: i } as never, result, Date.now(), Date.now());
  }
  assert.equal(log.list().length, 500);
  assert.equal(log.list()[0].id, 2);
  assert.equal(log.dropped, 1);
});

Deno.test("takeTranscripts() hands over what is held, clears it, and waits count from zero", async () => {
  await using server = await serve({ server: "echo hi;" });
  await visit(server, 2);
  await server.waitForSessions(2);
  const taken = server.takeTranscripts();
  assert.deepEqual(taken.map((t) => t.id), [1, 2]);
  assert.deepEqual(server.transcripts(), []);
  assert.deepEqual(server.takeTranscripts(), []);
  await visit(server);
  const [next] = await server.waitForSessions(1, { timeout: 2000 });
  assert.equal(next.id, 3);
  assert.equal(server.endedSessions, 3);
});

Deno.test("waitForSessions() rejects a count above maxTranscripts: it could never be held", async () => {
  await using server = await serve({ server: "echo hi;", maxTranscripts: 2 });
  await assert.rejects(server.waitForSessions(3), RangeError);
});

Deno.test("serve() rejects a maxTranscripts that is not a whole number >= 0", async () => {
  for (const maxTranscripts of [-1, 1.5, NaN]) {
    await assert.rejects(serve({ server: "echo hi;", maxTranscripts }), /maxTranscripts must be/);
  }
});

Deno.test("record: false keeps nothing per session; waits still count sessions", async () => {
  await using server = await serve({ server: "echo ok;", record: false });
  await visit(server, 2);
  assert.deepEqual(await server.waitForSessions(2, { timeout: 2000 }), []);
  assert.deepEqual(server.transcripts(), []);
  assert.equal(server.endedSessions, 2);
  assert.equal(server.droppedTranscripts, 0);
});

for (const [mode, sessions] of [["off", 10_000], ["capped", 3000]] as const) {
  const what = mode === "off" ? "record: false" : "maxTranscripts: 50";
  Deno.test(`the heap does not grow over ${sessions} sessions (${what})`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        new URL("heap_probe.ts", import.meta.url).pathname,
        mode,
        "2000",
        String(sessions),
      ],
      stderr: "inherit",
    }).output();
    assert.equal(out.code, 0);
    const { perSession, held } = JSON.parse(new TextDecoder().decode(out.stdout));
    // Before retention was bounded, each session kept ~1.4 KB (its transcript) for good: 14 MB
    // per 10,000 sessions. Now: a few bytes per session, noise (under 1 MB per 10,000).
    assert.ok(perSession < 100, `${perSession.toFixed(0)} bytes per session`);
    assert.equal(held, mode === "off" ? 0 : 50);
  });
}

Deno.test("waitForSessions() adds one stop handler in all, not one per call", async () => {
  let thens = 0;
  const finished = Promise.withResolvers<void>();
  const counted = {
    then: (...args: Parameters<Promise<void>["then"]>) => {
      thens++;
      return finished.promise.then(...args);
    },
  } as Promise<void>;
  const fake = {
    addrs: [],
    finished: counted,
    shutdown: () => Promise.resolve(),
    close: () => Promise.resolve(),
    reload: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  } satisfies ServerHandle;
  const log = new TranscriptLog();
  const handle = new Handle(fake, log, true);
  for (let i = 0; i < 50; i++) {
    await assert.rejects(handle.waitForSessions(1, { timeout: 0 }), Deno.errors.TimedOut);
  }
  assert.equal(thens, 1);
  // The one handler still ends a wait that is pending when the server stops.
  const pending = handle.waitForSessions(1, { timeout: 2000 });
  finished.resolve();
  await assert.rejects(pending, /the server stopped after 0 session\(s\) ended/);
  // And a wait begun after the stop rejects at once.
  await assert.rejects(handle.waitForSessions(1, { timeout: 2000 }), /the server stopped/);
});

Deno.test("serve(null) and reload(null) throw a TypeError that says what to pass", async () => {
  for (const bad of [null, undefined, "echo hi;"]) {
    await assert.rejects(
      serve(bad as never),
      (err: Error) =>
        err instanceof TypeError && err.message.startsWith("serve() needs an options object"),
    );
  }
  await using server = await serve({ server: "echo hi;" });
  await assert.rejects(server.reload(null as never), /^TypeError: reload\(\) needs an options/);
});

Deno.test("await using closes fast on every handle: a sleeping session does not hold it up", async () => {
  const body = "echo_sleep 5; echo late;";
  const config = () => parseConfig(`stream { server { listen 127.0.0.1:0; ${body} } }`);
  for (const start of ["serve", "startServer", "startServerGroup"]) {
    let port = 0;
    const t0 = performance.now();
    {
      await using server = start === "serve"
        ? await serve({ server: body })
        : start === "startServer"
        ? await startServer(config())
        : await startServerGroup(config(), { logger: quietLogger, workers: 1 });
      port = (server.addrs[0] as Deno.NetAddr).port;
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const reply = new Response(conn.readable).text();
      await new Promise((r) => setTimeout(r, 50)); // the session is sleeping
      reply.catch(() => {});
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 2000, `${start}: await using took ${ms.toFixed(0)} ms`);
  }
});
