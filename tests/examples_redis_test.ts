/**
 * examples/redis.conf driven by redis-cli (and, for pipelining and binary values, a raw RESP
 * client): several commands per connection, in several orders.
 */
import assert from "node:assert/strict";
import { clientTest, runClient, runPython, serveExample } from "./real_clients.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Pipes commands (one per line) to redis-cli, which sends them all over one connection. */
async function redisCli(bin: string, port: number, commands: string[]): Promise<string[]> {
  const out = await runClient(bin, ["-h", "127.0.0.1", "-p", String(port)], {
    stdin: commands.join("\n") + "\n",
  });
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.split("\n").slice(0, -1);
}

const orders: { name: string; commands: string[]; replies: string[] }[] = [
  {
    name: "PING, SET, GET hit, GET miss, unknown",
    commands: ["PING", "SET foo bar", "GET foo", "GET nope", "FLUSHALL"],
    // a nil prints as an empty line; redis-cli prints an empty line after an error too
    replies: ["PONG", "OK", "bar", "", "ERR unknown command 'FLUSHALL'", ""],
  },
  {
    name: "unknown first, misses before hits, lower case, PING with a message",
    commands: ["hello 3", "get nope", "get foo", "ping", "ping 'hi there'", "set a 1", "get foo"],
    replies: ["ERR unknown command 'hello'", "", "", "bar", "PONG", "hi there", "OK", "bar"],
  },
];

for (const { name, commands, replies } of orders) {
  clientTest(`redis-cli gets the mock's replies over one connection: ${name}`, [
    "redis-cli",
  ], async (bin) => {
    await using ex = await serveExample("redis.conf");
    assert.deepEqual(await redisCli(bin["redis-cli"], ex.port, commands), replies);

    const [t, ...more] = await ex.sessions();
    assert.equal(more.length, 0, "one connection for every command");
    assert.equal(t.end, "eof", ex.logs.join(""));
    // redis-cli 7 asks for COMMAND DOCS first; every command then came as a RESP array
    assert.match(text(t.received), /^\*2\r\n\$7\r\nCOMMAND\r\n\$4\r\nDOCS\r\n/);
    assert.ok(text(t.received).endsWith(`\r\n`));
  });
}

clientTest("redis-cli -r repeats a command on one connection and gets every reply", [
  "redis-cli",
], async (bin) => {
  await using ex = await serveExample("redis.conf");
  const out = await runClient(bin["redis-cli"], [
    "-p",
    String(ex.port),
    "-r",
    "5",
    "GET",
    "foo",
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.stdout, "bar\n".repeat(5));
  assert.equal((await ex.sessions()).length, 1);
});

Deno.test("redis.conf frames pipelined commands by length (binary values too) and inline commands by line, in one write and in 1-byte segments", async () => {
  await using ex = await serveExample("redis.conf");
  const value = "a\r\nb\x00*2\r\n$3\r\n"; // looks like protocol: only the $LEN frames it
  const cmd = (...args: string[]) =>
    `*${args.length}\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
  const request = cmd("SET", "k", value) + cmd("GET", "foo") + cmd("PING") + cmd("DEL", "k") +
    cmd("GET", "k") + "*0\r\n\r\nPING\r\nget foo\nGET x\r\nset a b\r\nFOO bar\r\n" + cmd("PING");
  const expected = "+OK\r\n$3\r\nbar\r\n+PONG\r\n-ERR unknown command 'DEL'\r\n$-1\r\n" +
    // *0 and an empty line get no reply; then inline commands, as typed into nc
    "+PONG\r\n$3\r\nbar\r\n$-1\r\n+OK\r\n-ERR unknown command 'FOO'\r\n+PONG\r\n";

  for (const segment of [request.length, 1]) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: ex.port });
    const bytes = new TextEncoder().encode(request);
    for (let i = 0; i < bytes.length; i += segment) {
      await conn.write(bytes.subarray(i, i + segment));
    }
    const buf = new Uint8Array(expected.length);
    let got = 0;
    while (got < buf.length) {
      const n = await conn.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    conn.close();
    assert.equal(text(buf.subarray(0, got)), expected, `segments of ${segment} byte(s)`);
  }
});

clientTest("redis-py talks to the mock: commands, an error, and a pipeline", [
  "python3:redis",
], async (bin) => {
  await using ex = await serveExample("redis.conf");
  const script = String.raw`
import json, redis, sys
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), socket_timeout=5)
out = [r.ping(), r.get("nope"), r.set("foo", "bar"), r.get("foo").decode()]
try:
    r.incr("x")
except redis.ResponseError as e:
    out.append(str(e))
p = r.pipeline(transaction=False)
p.get("foo"); p.ping(); p.set("a", b"x\r\ny"); p.get("zz"); p.echo("hi")
out.append([v.decode() if isinstance(v, bytes) else v for v in p.execute(raise_on_error=False)][:4])
print(json.dumps(out))
`;
  const out = await runPython(bin["python3:redis"], script, [String(ex.port)]);
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout), [
    true,
    null,
    true,
    "bar",
    "unknown command 'INCRBY'", // redis-py sends INCR x as INCRBY x 1
    ["bar", true, true, null],
  ]);
  const [t, ...more] = await ex.sessions();
  assert.equal(more.length, 0, "redis-py's pool reused its one connection");
  assert.equal(t.end, "eof", ex.logs.join(""));
});

clientTest("redis-benchmark runs PING (inline and array), SET and GET pipelined on 4 connections", [
  "redis-benchmark",
], async (bin) => {
  await using ex = await serveExample("redis.conf");
  const out = await runClient(bin["redis-benchmark"], [
    ...["-p", String(ex.port), "-t", "ping,set,get", "-n", "2000", "-c", "4", "-P", "8", "--csv"],
  ], { timeout: 30_000 });
  assert.equal(out.code, 0, out.stderr);
  const tests = out.stdout.split("\n").slice(1).filter((l) => l !== "").map((l) =>
    JSON.parse(`[${l}]`)[0]
  );
  assert.deepEqual(tests, ["PING_INLINE", "PING_MBULK", "SET", "GET"]);
  const sessions = await ex.sessions(10_000);
  assert.ok(sessions.length >= 4 * 4, `${sessions.length} sessions`); // 4 clients per test
  assert.ok(sessions.every((t) => t.end === "eof"), ex.logs.join(""));
});
