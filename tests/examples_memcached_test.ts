/**
 * examples/memcached.conf driven by libmemcached's memccat/memccp and by a raw text-protocol
 * client: gets (hits and misses) and sets, several per connection, in several orders.
 */
import assert from "node:assert/strict";
import { clientTest, runClient, runPython, serveExample } from "./real_clients.ts";
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

/** Requests and the replies the mock owes them, in the order they are sent. */
const exchanges: [string, string][] = [
  ["get foo nope user:7\r\n", "VALUE foo 0 3\r\nbar\r\nVALUE user:7 0 5\r\nalice\r\nEND\r\n"],
  ["get nope\r\n", "END\r\n"],
  ["set k 1 0 4\r\na\r\nb\r\n", "STORED\r\n"],
  ["add k 0 0 2 noreply\r\nxy\r\n", ""],
  ["get  user:1   foo \r\n", "VALUE user:1 0 5\r\nalice\r\nVALUE foo 0 3\r\nbar\r\nEND\r\n"],
  ["delete k\r\n", "NOT_FOUND\r\n"],
  ["delete k noreply\r\n", ""],
  ["incr counter 1\r\n", "ERROR\r\n"],
  ["set k x 0 1\r\n", "CLIENT_ERROR bad command line format\r\n"],
  ["gets foo nope user:5\r\n", "VALUE foo 0 3 1\r\nbar\r\nVALUE user:5 0 5 2\r\nalice\r\nEND\r\n"],
  ["cas foo 0 0 3 1\r\nbaz\r\n", "STORED\r\n"],
  ["version\r\n", "VERSION 1.6.18\r\n"],
  ["get foo\n", "VALUE foo 0 3\r\nbar\r\nEND\r\n"], // a bare \n ends a line too
];

for (const segment of [Infinity, 1]) {
  Deno.test(
    `memcached.conf answers multi-key gets, sets, deletes and errors pipelined in ${
      segment === 1 ? "1-byte segments" : "one write"
    }`,
    async () => {
      await using ex = await serveExample("memcached.conf");
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: ex.port });
      const request = new TextEncoder().encode(exchanges.map(([q]) => q).join("") + "quit\r\n");
      const step = Math.min(segment, request.length);
      for (let i = 0; i < request.length; i += step) {
        await conn.write(request.subarray(i, i + step));
      }
      const reply = await new Response(conn.readable).text(); // until the mock closes on quit
      assert.equal(reply, exchanges.map(([, a]) => a).join(""));
      const [t, ...more] = await ex.sessions();
      assert.equal(more.length, 0);
      assert.equal(t.end, "eof", ex.logs.join(""));
    },
  );
}

clientTest(
  "pymemcache talks to the mock: get, set, get_many, delete, noreply, version, gets and cas",
  [
    "python3:pymemcache",
  ],
  async (bin) => {
    await using ex = await serveExample("memcached.conf");
    const script = String.raw`
import json, sys
from pymemcache.client.base import Client
c = Client(("127.0.0.1", int(sys.argv[1])), timeout=5)
many = c.get_many(["foo", "user:3", "nope"])
print(json.dumps([
    c.get("nope"), c.set("k", b"v\r\nv", noreply=False), c.get("foo").decode(),
    {k: v.decode() for k, v in many.items()}, c.set("q", "1", noreply=True),
    c.delete("k", noreply=False), c.version().decode(),
    [c.gets("foo")[0].decode(), c.gets("foo")[1].decode(), c.cas("foo", "x", b"1", noreply=False)],
]))
c.close()
`;
    const out = await runPython(bin["python3:pymemcache"], script, [String(ex.port)]);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), [
      null,
      true,
      "bar",
      { foo: "bar", "user:3": "alice" },
      true,
      false, // NOT_FOUND
      "1.6.18",
      ["bar", "1", true],
    ]);
    const [t, ...more] = await ex.sessions();
    assert.equal(more.length, 0);
    assert.match(
      text(t.received),
      /^get foo user:3 nope\r\nget nope\r\nset k 0 0 4\r\nv\r\nv\r\nget foo\r\n/,
    );
  },
);
