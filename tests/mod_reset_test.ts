/**
 * Resets as a user meets them: the client must come out with a clear error, not a hang or a
 * crash, and the next connection must work. The transcript shows what the mock actually read.
 */
import assert from "node:assert/strict";
import { serve } from "../mod.ts";
import { MemcachedClient, MemcachedConnectionError } from "./mod_memcached_client.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/**
 * Deno closes a socket with a FIN even when input is unread; the engine makes it a reset, as C's
 * close() does, through libc (FIONREAD + connect(AF_UNSPEC)), which needs --allow-ffi and read
 * access to /proc/self/fd. Without them the client sees a clean EOF instead.
 */
const CAN_RESET = Deno.build.os === "linux" &&
  Deno.permissions.querySync({ name: "ffi" }).state === "granted" &&
  Deno.permissions.querySync({ name: "read", path: "/proc/self/fd" }).state === "granted";

Deno.test("the memcached client survives a reset from a mock that closes with unread input", async () => {
  // The mock answers one get, then ignores the next one and closes with lingering off: the
  // unread command is still in the kernel, so the close sends a reset.
  await using server = await serve({
    server: String.raw`
      echo_lingering_close off;
      echo_read_line;
      echo -n "VALUE foo 0 3\r\nbar\r\nEND\r\n";
      echo_sleep 0.2;
    `,
  });
  const port = server.addrs[0].port;
  {
    using client = await MemcachedClient.connect(port);
    assert.equal(text((await client.get("foo"))!.value), "bar");
    const err = await client.get("baz").catch((e) => e);
    assert.ok(err instanceof MemcachedConnectionError, `got ${err}`);
    if (CAN_RESET) {
      assert.equal(err.message, "read failed: connection reset by peer");
      assert.ok(err.cause instanceof Deno.errors.ConnectionReset, "a real reset, not an EOF");
    } else {
      assert.equal(err.message, "connection closed in the middle of a reply");
    }
  }
  const [t] = await server.waitForSessions(1);
  assert.equal(text(t.received), "get foo\r\n", "the second command was never read");
  assert.equal(text(t.sent), "VALUE foo 0 3\r\nbar\r\nEND\r\n");
  assert.equal(t.end, "eof");

  // The mock keeps serving after the reset.
  using again = await MemcachedClient.connect(port);
  assert.equal(text((await again.get("foo"))!.value), "bar");
});

Deno.test("the memcached client survives a mock that closes in the middle of a reply", async () => {
  await using server = await serve({
    server: String.raw`echo_read_line; echo -n "VALUE foo 0 10\r\nabc";`,
  });
  {
    using client = await MemcachedClient.connect(server.addrs[0].port);
    await assert.rejects(client.get("foo"), {
      name: "MemcachedConnectionError",
      message: "connection closed in the middle of a reply",
    });
  }
  const [t] = await server.waitForSessions(1);
  assert.equal(text(t.received), "get foo\r\n");
  assert.equal(text(t.sent), "VALUE foo 0 10\r\nabc");
  assert.equal(t.end, "eof");
});

Deno.test("a transcript ends in reset when the client leaves before a read step got its bytes", async () => {
  await using server = await serve({ server: "echo_read_bytes 10; echo never;" });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
  await conn.write(new TextEncoder().encode("get fo"));
  conn.close(); // six of ten bytes, then gone
  const [t] = await server.waitForSessions(1);
  assert.equal(text(t.received), "get fo");
  assert.equal(t.sent.byteLength, 0);
  assert.equal(t.end, "reset");
});

Deno.test("with lingering close on, input the mock did not read is drained, not reset", async () => {
  await using server = await serve({
    server: String.raw`echo_read_line; echo -n "VALUE foo 0 3\r\nbar\r\nEND\r\n";`,
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
  // Two pipelined commands; the mock answers only the first.
  await conn.write(new TextEncoder().encode("get foo\r\nget baz\r\n"));
  // Reading to the end (EOF, not a reset) closes our side, which ends the lingering.
  assert.equal(await new Response(conn.readable).text(), "VALUE foo 0 3\r\nbar\r\nEND\r\n");
  const [t] = await server.waitForSessions(1);
  assert.equal(t.end, "eof");
  assert.ok(text(t.received).startsWith("get foo\r\n"));
});
