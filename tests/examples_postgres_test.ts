/**
 * examples/postgres.conf driven by psql: the SSLRequest refused, start-up without a password,
 * simple queries answered by their text (several per connection, in several orders), errors,
 * and Terminate.
 */
import assert from "node:assert/strict";
import { clientTest, runClient, runPython, serveExample } from "./real_clients.ts";

/** Bytes as a binary string, one char per byte (the protocol is binary). */
const text = (b: Uint8Array) => Array.from(b, (c) => String.fromCharCode(c)).join("");
const SSL_REQUEST = "\x00\x00\x00\x08\x04\xd2\x16\x2f";

/** psql against the mock: no psqlrc, no password prompt, TLS preferred (so it asks first). */
function psqlArgs(port: number, ...rest: string[]): string[] {
  return [
    `host=127.0.0.1 port=${port} user=app dbname=app sslmode=prefer connect_timeout=5`,
    "-X",
    "-w",
    "-v",
    "ON_ERROR_STOP=0",
    ...rest,
  ];
}

const plans: {
  name: string;
  args: string[];
  stdin?: string;
  stdout: string;
  code: number;
  /** Queries psql must have sent, in order. */
  queries?: string[];
}[] = [
  {
    name: "three -c queries",
    args: ["-At", "-c", "select 1", "-c", "select * from users", "-c", "SELECT version()"],
    stdout: "1\n1|alice\n2|bob\nPostgreSQL 15.0 (stream-echo mock)\n",
    code: 0,
  },
  {
    name: "a script on stdin, in another order, with an unknown query in the middle",
    args: ["-At"],
    stdin: "select version();\nselect nothing;\nselect 1;\nSelect  *  From users;\n",
    stdout: "PostgreSQL 15.0 (stream-echo mock)\n1\n1|alice\n2|bob\n",
    code: 0,
  },
  {
    name: "one transaction (-1): BEGIN, two queries, COMMIT",
    args: ["-1", "-At", "-c", "select 1", "-c", "select * from users"],
    stdout: "1\n1|alice\n2|bob\n",
    code: 0,
    queries: ["BEGIN", "select 1", "select * from users", "COMMIT"],
  },
  {
    name: "explicit transaction statements and SET",
    args: ["-c", "begin", "-c", "set search_path = app", "-c", "select 1", "-c", "rollback"],
    stdout: "BEGIN\nSET\n ?column? \n----------\n        1\n(1 row)\n\nROLLBACK\n",
    code: 0,
  },
  {
    name: "psql's aligned table output",
    args: ["-c", "select * from users"],
    stdout: " id | name  \n----+-------\n  1 | alice\n  2 | bob\n(2 rows)\n\n",
    code: 0,
  },
];

for (const { name, args, stdin, stdout, code, queries } of plans) {
  clientTest(`psql gets answers chosen by the query text: ${name}`, ["psql"], async (bin) => {
    await using ex = await serveExample("postgres.conf");
    const out = await runClient(bin.psql, psqlArgs(ex.port, ...args), {
      ...(stdin === undefined ? {} : { stdin }),
      env: { PGCONNECT_TIMEOUT: "5" },
    });
    assert.equal(out.stdout, stdout, out.stderr);
    assert.equal(out.code, code, out.stderr);
    if (stdin?.includes("nothing")) {
      assert.match(out.stderr, /ERROR: {2}stream-echo mock: unsupported query/);
    }

    const [t, ...more] = await ex.sessions();
    assert.equal(more.length, 0, "one connection for every query");
    assert.equal(t.end, "eof", ex.logs.join(""));
    const received = text(t.received);
    assert.ok(received.startsWith(SSL_REQUEST), "psql asked for TLS first");
    assert.ok(received.endsWith("X\x00\x00\x00\x04"), "and ended with Terminate");
    assert.equal(text(t.sent)[0], "N", "the mock refused TLS");
    if (queries) {
      // deno-lint-ignore no-control-regex -- the protocol ends each query with a NUL byte
      const sent = [...received.matchAll(/Q[\s\S]{4}([^\x00]*)\x00/g)].map((m) => m[1]);
      assert.deepEqual(sent, queries);
    }
  });
}

clientTest("psql reports an unknown query as an ERROR and exits 1", ["psql"], async (bin) => {
  await using ex = await serveExample("postgres.conf");
  const out = await runClient(bin.psql, psqlArgs(ex.port, "-c", "drop table users"));
  assert.equal(out.code, 1);
  assert.equal(out.stdout, "");
  assert.match(out.stderr, /^ERROR: {2}stream-echo mock: unsupported query$/m);
});

clientTest("psql with sslmode=require is refused, as by a server without TLS", [
  "psql",
], async (bin) => {
  await using ex = await serveExample("postgres.conf");
  const out = await runClient(bin.psql, [
    `host=127.0.0.1 port=${ex.port} user=app sslmode=require connect_timeout=5`,
    "-X",
    "-w",
    "-c",
    "select 1",
  ]);
  assert.equal(out.code, 2);
  assert.match(out.stderr, /server does not support SSL, but SSL was required/);
  const [t, ...more] = await ex.sessions();
  assert.equal(more.length, 0, "one connection");
  assert.equal(text(t.received), SSL_REQUEST);
  assert.equal(text(t.sent), "N");
});

clientTest("psycopg2 talks to the mock: transactions, rows, column names, an error", [
  "python3:psycopg2",
], async (bin) => {
  await using ex = await serveExample("postgres.conf");
  const script = String.raw`
import json, psycopg2, sys
c = psycopg2.connect(host="127.0.0.1", port=int(sys.argv[1]), user="app", dbname="app",
                     sslmode="prefer", connect_timeout=5)
cur = c.cursor()
out = [c.server_version]
cur.execute("select 1"); out.append(cur.fetchall())
cur.execute("select * from users"); out.append([cur.fetchall(), [d.name for d in cur.description]])
c.commit()
try:
    cur.execute("select nothing")
except psycopg2.Error as e:
    out.append([e.pgcode, e.pgerror.strip()])
c.rollback()
cur.execute("select version()"); out.append(cur.fetchone()[0])
c.close()
print(json.dumps(out))
`;
  const out = await runPython(bin["python3:psycopg2"], script, [String(ex.port)]);
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout), [
    150000,
    [[1]],
    [[[1, "alice"], [2, "bob"]], ["id", "name"]],
    ["42601", "ERROR:  stream-echo mock: unsupported query"],
    "PostgreSQL 15.0 (stream-echo mock)",
  ]);
  const [t, ...more] = await ex.sessions();
  assert.equal(more.length, 0);
  // deno-lint-ignore no-control-regex -- the protocol ends each query with a NUL byte
  const queries = [...text(t.received).matchAll(/Q[\s\S]{4}([^\x00]*)\x00/g)].map((m) => m[1]);
  assert.deepEqual(queries, [
    "BEGIN",
    "select 1",
    "select * from users",
    "COMMIT",
    "BEGIN",
    "select nothing",
    "ROLLBACK",
    "BEGIN",
    "select version()",
  ]);
});

clientTest("psycopg 3 talks to the mock: BEGIN in the extended protocol, queries, an error", [
  "python3:psycopg",
], async (bin) => {
  await using ex = await serveExample("postgres.conf");
  const script = String.raw`
import json, psycopg, sys
c = psycopg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="app", dbname="app",
                    sslmode="prefer", connect_timeout=5)
cur = c.cursor()
out = []
cur.execute("select 1"); out.append(cur.fetchall())
cur.execute("select * from users"); out.append(cur.fetchall())
c.commit()
try:
    cur.execute("select %s", [5])
except psycopg.Error as e:
    out.append([e.sqlstate, str(e)])
c.rollback()
with c.transaction():
    cur.execute("select 1"); out.append(cur.fetchone())
c.close()
print(json.dumps(out))
`;
  const out = await runPython(bin["python3:psycopg"], script, [String(ex.port)]);
  assert.equal(out.code, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout), [
    [[1]],
    [[1, "alice"], [2, "bob"]],
    ["42601", "stream-echo mock: unsupported query"], // select $1, in the extended protocol
    [1],
  ]);
  const [t, ...more] = await ex.sessions();
  assert.equal(more.length, 0);
  // psycopg 3 sends BEGIN as Parse/Bind/Describe/Execute/Sync
  assert.ok(text(t.received).includes("P\x00\x00\x00\x0d\x00BEGIN\x00\x00\x00B"));
});

Deno.test("postgres.conf answers an extended-protocol batch (Parse, Bind, Describe, Execute, Sync) at its Sync", async () => {
  await using ex = await serveExample("postgres.conf");
  const u32 = (n: number) =>
    String.fromCharCode(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  const msg = (type: string, body: string) => type + u32(body.length + 4) + body;
  const startup = u32(8) + "\x04\xd2\x16\x2f" + (() => {
    const body = "\x00\x03\x00\x00user\x00app\x00\x00";
    return u32(body.length + 4) + body;
  })();
  const batch = (query: string) =>
    msg("P", `\x00${query}\x00\x00\x00`) + msg("B", "\x00\x00\x00\x00\x00\x00\x00\x00") +
    msg("D", "P\x00") + msg("E", "\x00\x00\x00\x00\x00") + msg("S", "");
  const request = startup + batch("SELECT * FROM users") + batch("drop table users") +
    batch("select 1") + msg("X", "");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: ex.port });
  // in 7-byte writes, so messages, lengths and the Syncs arrive split
  const bytes = Uint8Array.from(request, (c) => c.charCodeAt(0));
  for (let i = 0; i < bytes.length; i += 7) await conn.write(bytes.subarray(i, i + 7));
  const reply = text(new Uint8Array(await new Response(conn.readable).arrayBuffer()));
  // N, the start-up answer, then per batch: ParseComplete, BindComplete, rows or an error, Z
  const types: string[] = [];
  for (let i = 1; i < reply.length;) {
    types.push(reply[i]);
    const n = (reply.charCodeAt(i + 1) << 24) | (reply.charCodeAt(i + 2) << 16) |
      (reply.charCodeAt(i + 3) << 8) | reply.charCodeAt(i + 4);
    i += 1 + n;
  }
  assert.equal(reply[0], "N");
  assert.equal(types.join(""), "RSSSSSSKZ" + "12TDDCZ" + "EZ" + "12TDCZ");
  assert.ok(reply.includes("\x00\x00\x00\x05alice"));
});
