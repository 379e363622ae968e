/**
 * A user's test of their memcached client against a stream-echo mock: the mock replies with
 * canned text, and the transcript shows exactly what the client sent.
 */
import assert from "node:assert/strict";
import { serve } from "../mod.ts";
import { MemcachedClient } from "./mod_memcached_client.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("the memcached client gets a value from the mock, which saw exactly one get command", async () => {
  await using server = await serve({
    server: String.raw`
      echo_read_line;
      echo -n "VALUE foo 5 3\r\nbar\r\nEND\r\n";
    `,
  });
  {
    using client = await MemcachedClient.connect(server.addrs[0].port);
    const item = await client.get("foo");
    assert.deepEqual(item && { flags: item.flags, value: text(item.value) }, {
      flags: 5,
      value: "bar",
    });
  } // the client hangs up

  const [t] = await server.waitForSessions(1);
  assert.equal(text(t.received), "get foo\r\n");
  assert.equal(text(t.sent), "VALUE foo 5 3\r\nbar\r\nEND\r\n");
  assert.equal(t.end, "eof");
  assert.deepEqual(t.truncated, { received: false, sent: false });
  assert.ok(t.startedAt <= t.endedAt);
});

Deno.test("the memcached client reports a miss when the mock answers END alone", async () => {
  await using server = await serve({ server: String.raw`echo_read_line; echo -n "END\r\n";` });
  {
    using client = await MemcachedClient.connect(server.addrs[0].port);
    assert.equal(await client.get("nope"), undefined);
  }
  const [t] = await server.waitForSessions(1);
  assert.equal(text(t.received), "get nope\r\n");
});

Deno.test("the memcached client's set sends a command line and a data block", async () => {
  await using server = await serve({
    server: String.raw`echo_read_line; echo_read_bytes 7; echo -n "STORED\r\n";`,
  });
  {
    using client = await MemcachedClient.connect(server.addrs[0].port);
    assert.equal(await client.set("greeting", "hello", 3), true);
  }
  const [t] = await server.waitForSessions(1);
  assert.equal(text(t.received), "set greeting 3 0 5\r\nhello\r\n");
});

Deno.test("two requests on one connection appear in one transcript, in order", async () => {
  await using server = await serve({
    server: String.raw`
      echo_read_line;
      echo -n "VALUE a 0 1\r\n1\r\nEND\r\n";
      echo_read_line;
      echo -n "END\r\n";
    `,
  });
  {
    using client = await MemcachedClient.connect(server.addrs[0].port);
    assert.equal(text((await client.get("a"))!.value), "1");
    assert.equal(await client.get("b"), undefined);
  }
  const [t] = await server.waitForSessions(1);
  assert.equal(text(t.received), "get a\r\nget b\r\n");
  assert.equal(text(t.sent), "VALUE a 0 1\r\n1\r\nEND\r\nEND\r\n");
});

Deno.test("each connection gets its own transcript, listed in the order sessions ended", async () => {
  await using server = await serve({ server: String.raw`echo_read_line; echo -n "END\r\n";` });
  for (const key of ["k1", "k2", "k3"]) {
    const client = await MemcachedClient.connect(server.addrs[0].port);
    await client.get(key);
    client.close();
    await server.waitForSessions(Number(key[1]));
  }
  const ts = server.transcripts();
  assert.deepEqual(ts.map((t) => text(t.received)), ["get k1\r\n", "get k2\r\n", "get k3\r\n"]);
  assert.equal(new Set(ts.map((t) => t.id)).size, 3);
});

Deno.test("the transcript is ready right after the reply, while the client still holds its connection", async () => {
  await using server = await serve({ server: String.raw`echo_read_line; echo -n "END\r\n";` });
  using client = await MemcachedClient.connect(server.addrs[0].port);
  assert.equal(await client.get("k"), undefined);
  const t0 = performance.now();
  // Nothing unread is pending, so the mock closes without lingering (nginx's `on` rule).
  const [t] = await server.waitForSessions(1, { timeout: 1000 });
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(text(t.received), "get k\r\n");
  assert.equal(t.end, "eof");
});
