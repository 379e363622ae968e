/**
 * Timeouts as a user meets them: a client that must give up on a slow mock, and a mock that
 * gives up on a silent client. Times are short and asserted as ranges.
 */
import assert from "node:assert/strict";
import { serve } from "../mod.ts";
import { MemcachedClient, MemcachedTimeoutError } from "./mod_memcached_client.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("the memcached client times out when the mock sleeps before replying", async () => {
  await using server = await serve({
    server: String.raw`echo_read_line; echo_sleep 5; echo -n "END\r\n";`,
  });
  const client = await MemcachedClient.connect(server.addrs[0].port, { timeout: 100 });
  const t0 = performance.now();
  await assert.rejects(client.get("slow"), MemcachedTimeoutError);
  const waited = performance.now() - t0;
  assert.ok(waited >= 90 && waited < 1000, `gave up after ${waited} ms`);

  // The mock is still asleep; a fast close ends its session, and the transcript shows the
  // request arrived and nothing was sent.
  await server.close();
  const [t] = await server.waitForSessions(1);
  assert.equal(text(t.received), "get slow\r\n");
  assert.equal(t.sent.byteLength, 0);
  assert.equal(t.end, "shutdown");
});

Deno.test("the mock times out a client that connects and never sends", async () => {
  await using server = await serve({
    server: "echo_read_timeout 100ms; echo_read_line; echo never;",
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
  const t0 = performance.now();
  const reply = await new Response(conn.readable).text();
  const waited = performance.now() - t0;
  assert.equal(reply, "", "the server closed without replying");
  assert.ok(waited >= 90 && waited < 2000, `closed after ${waited} ms`);

  const [t] = await server.waitForSessions(1);
  assert.equal(t.end, "timeout");
  assert.match(t.reason ?? "", /timed out/);
  assert.equal(t.received.byteLength, 0);
  assert.equal(t.sent.byteLength, 0);
});

Deno.test("the mock times out a client that sends half a line", async () => {
  await using server = await serve({
    server: "echo_read_timeout 100ms; echo_read_line; echo never;",
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
  await conn.write(new TextEncoder().encode("get fo"));
  assert.equal(await new Response(conn.readable).text(), "");
  const [t] = await server.waitForSessions(1);
  assert.equal(t.end, "timeout");
  assert.equal(text(t.received), "get fo", "the partial line is in the transcript");
});
