/**
 * examples/memcached.conf driven by libmemcached's memccat/memccp and by a raw text-protocol
 * client: gets (hits and misses) and sets, several per connection, in several orders.
 */
import assert from "node:assert/strict";
import { clientTest, runClient, serveExample } from "./real_clients.ts";
import { MemcachedClient } from "./mod_memcached_client.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

clientTest("memccat gets hits and misses for several keys over one connection", [
  "memccat",
], async (bin) => {
  await using ex = await serveExample("memcached.conf");
  const out = await runClient(bin.memccat, [
    `--servers=127.0.0.1:${ex.port}`,
    "foo",
    "nope",
    "user:42",
    "foo",
  ]);
  assert.equal(out.stdout, "bar\nalice\nbar\n");
  assert.equal(out.code, 1, "memccat exits 1 when a key is missing"); // the miss of "nope"

  const [t, ...more] = await ex.sessions();
  assert.equal(more.length, 0, "one connection for every key");
  assert.equal(
    text(t.received),
    "get foo\r\nget nope\r\nget user:42\r\nget foo\r\nquit\r\n",
  );
  assert.equal(t.end, "eof", ex.logs.join(""));
});

clientTest("memccp stores files with set (data blocks framed by length) over one connection", [
  "memccp",
], async (bin) => {
  await using ex = await serveExample("memcached.conf");
  const dir = Deno.makeTempDirSync({ prefix: "stream-echo-memc-" });
  try {
    Deno.writeTextFileSync(`${dir}/greeting`, "hello\r\nworld"); // a \r\n inside the value
    Deno.writeTextFileSync(`${dir}/empty`, "");
    const out = await runClient(bin.memccp, [
      `--servers=127.0.0.1:${ex.port}`,
      `${dir}/greeting`,
      `${dir}/empty`,
    ]);
    assert.equal(out.code, 0, out.stdout + out.stderr);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  const [t, ...more] = await ex.sessions();
  assert.equal(more.length, 0);
  assert.equal(
    text(t.received),
    "set greeting 0 0 12\r\nhello\r\nworld\r\nset empty 0 0 0\r\n\r\nquit\r\n",
  );
  assert.equal(text(t.sent), "STORED\r\nSTORED\r\n");
});

Deno.test("a raw memcached client mixes sets, hits and misses on one connection", async () => {
  await using ex = await serveExample("memcached.conf");
  {
    using client = await MemcachedClient.connect(ex.port, { timeout: 3000 });
    for (const step of ["miss", "set", "hit", "set", "miss", "hit"]) {
      if (step === "set") assert.equal(await client.set("k", "v\r\nv"), true);
      if (step === "miss") assert.equal(await client.get("absent"), undefined);
      if (step === "hit") assert.equal(text((await client.get("foo"))!.value), "bar");
    }
    const user = await client.get("user:7");
    assert.deepEqual(user && [user.flags, text(user.value)], [0, "alice"]);
  }
  const [t, ...more] = await ex.sessions();
  assert.equal(more.length, 0, "one connection");
  assert.equal(t.end, "eof", ex.logs.join(""));
});
