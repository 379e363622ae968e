/**
 * Starting and stopping many servers through the API leaks nothing: Deno's sanitizers (on by
 * default) fail this file if a listener, connection, timer or promise outlives a test.
 */
import assert from "node:assert/strict";
import { serve, type StreamEchoServer } from "../mod.ts";

const STOPS: {
  name: string;
  stop(s: StreamEchoServer<Deno.NetAddr>, c: AbortController): Promise<void>;
}[] = [
  { name: "close()", stop: (s) => s.close() },
  { name: "shutdown()", stop: (s) => s.shutdown() },
  { name: "asyncDispose", stop: (s) => s[Symbol.asyncDispose]() },
  {
    name: "signal",
    stop: (s, c) => {
      c.abort();
      return s.finished;
    },
  },
];

async function hello(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  return await new Response(conn.readable).text();
}

Deno.test("100 servers start, serve one client and stop, leaking nothing", async () => {
  const ports = new Set<number>();
  for (let i = 0; i < 100; i++) {
    const controller = new AbortController();
    const server = await serve({ server: `echo ${i};`, signal: controller.signal });
    const { port } = server.addrs[0];
    ports.add(port);
    assert.equal(await hello(port), `${i}\n`);
    const [t] = await server.waitForSessions(1);
    assert.equal(t.end, "eof");
    const { name, stop } = STOPS[i % STOPS.length];
    await stop(server, controller);
    await server.finished;
    await assert.rejects(
      Deno.connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
      `port still open after ${name}`,
    );
  }
  assert.ok(ports.size > 1, "each server got an ephemeral port");
});

Deno.test("10 servers run at once and stop together", async () => {
  const servers = await Promise.all(
    Array.from({ length: 10 }, (_, i) => serve({ server: `echo s${i};` })),
  );
  const replies = await Promise.all(servers.map((s) => hello(s.addrs[0].port)));
  assert.deepEqual(replies, servers.map((_, i) => `s${i}\n`));
  await Promise.all(servers.map((s) => s.close()));
});

Deno.test("close() ends a session in flight; its transcript says shutdown", async () => {
  await using server = await serve({
    server: "echo before; echo_flush_wait; echo_sleep 10; echo after;",
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
  const reader = conn.readable.getReader();
  const first = await reader.read();
  assert.equal(new TextDecoder().decode(first.value), "before\n");
  const t0 = performance.now();
  await server.close();
  assert.ok(performance.now() - t0 < 1000, "fast");
  const [t] = await server.waitForSessions(1);
  assert.equal(t.end, "shutdown");
  assert.equal(new TextDecoder().decode(t.sent), "before\n");
  await reader.cancel();
});

Deno.test("shutdown() lets a session in flight finish", async () => {
  const server = await serve({ server: "echo_read_line; echo_sleep 0.1; echo done;" });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
  await conn.write(new TextEncoder().encode("go\n"));
  const reply = new Response(conn.readable).text();
  await new Promise((r) => setTimeout(r, 20)); // the session is asleep now
  await server.shutdown();
  assert.equal(await reply, "done\n");
  const [t] = server.transcripts();
  assert.equal(t.end, "eof");
});

Deno.test("an already-aborted signal starts and stops the server at once", async () => {
  const server = await serve({ server: "echo hi;", signal: AbortSignal.abort() });
  await server.finished;
  assert.deepEqual(server.transcripts(), []);
});
