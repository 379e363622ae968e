/**
 * Every fault directive observed from a real client socket (Deno.connect), against the library
 * server: what the client reads, when, and how the connection ends.
 */
import assert from "node:assert/strict";
import { serve } from "../mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What a client saw: the bytes, then how the stream ended, with the time of each read. */
interface Seen {
  text: string;
  end: "eof" | "reset";
  reads: { n: number; at: number }[];
}

async function readToEnd(conn: Deno.Conn, t0 = performance.now()): Promise<Seen> {
  const buf = new Uint8Array(65536);
  const parts: string[] = [];
  const reads: { n: number; at: number }[] = [];
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return { text: parts.join(""), end: "eof", reads };
      reads.push({ n, at: performance.now() - t0 });
      parts.push(dec.decode(buf.subarray(0, n)));
    }
  } catch (err) {
    if (err instanceof Deno.errors.ConnectionReset) {
      return { text: parts.join(""), end: "reset", reads };
    }
    throw err;
  }
}

async function connect(port: number): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

const resetCases: { name: string; request: string }[] = [
  { name: "when the script read everything the client sent", request: "GET\n" },
  { name: "when input is still unread", request: "GET\nmore input nobody reads\n" },
];

for (const c of resetCases) {
  Deno.test(`echo_reset: ECONNRESET after the bytes sent before it, 10 times out of 10, ${c.name}`, async () => {
    await using server = await serve({
      server: `echo_read_line; echo -n "partial reply"; echo_flush_wait; echo_reset; echo never;`,
    });
    for (let i = 0; i < 10; i++) {
      using conn = await connect(server.addrs[0].port);
      await conn.write(enc.encode(c.request));
      const seen = await readToEnd(conn);
      assert.deepEqual([seen.text, seen.end], ["partial reply", "reset"], `run ${i + 1}`);
    }
    const transcripts = await server.waitForSessions(10);
    assert.ok(transcripts.every((t) => t.end === "reset"));
  });
}

Deno.test("echo_reset drops output still queued: the client gets the reset, not the megabyte", async () => {
  await using server = await serve({
    server: `echo_read_line; echo_duplicate 67108864 x; echo_reset;`,
  });
  using conn = await connect(server.addrs[0].port);
  await conn.write(enc.encode("go\n"));
  const seen = await readToEnd(conn);
  assert.equal(seen.end, "reset");
  assert.ok(seen.text.length < 64 << 20, `got ${seen.text.length} bytes`);
});

Deno.test("echo_shutdown: the client sees EOF while the server still reads its input", async () => {
  await using server = await serve({
    server: `echo -n "bye"; echo_shutdown; echo_read_line; echo_read_line; echo ignored;`,
  });
  using conn = await connect(server.addrs[0].port);
  const seen = await readToEnd(conn);
  assert.deepEqual([seen.text, seen.end], ["bye", "eof"]);
  // Our side is still open, and the server still reads it.
  await conn.write(enc.encode("one\n"));
  await conn.write(enc.encode("two\n"));
  const [t] = await server.waitForSessions(1, { timeout: 3000 });
  assert.equal(dec.decode(t.received), "one\ntwo\n");
  assert.equal(dec.decode(t.sent), "bye");
  assert.equal(t.end, "eof");
});

Deno.test("echo_send_rate: a 100 KB reply at 20k/s takes about five seconds, never much less", async () => {
  await using server = await serve({
    server: `echo_read_line; echo_send_rate 20k; echo_duplicate 102400 r;`,
  });
  using conn = await connect(server.addrs[0].port);
  await conn.write(enc.encode("go\n"));
  const t0 = performance.now();
  const seen = await readToEnd(conn, t0);
  const took = performance.now() - t0;
  assert.equal(seen.text.length, 102400);
  assert.ok(took >= 4900 && took < 8000, `took ${Math.round(took)} ms`);
  // Smooth: by half time about half the bytes had arrived (not all at the end, nor at once).
  let byHalf = 0;
  for (const r of seen.reads) if (r.at <= took / 2) byHalf += r.n;
  assert.ok(byHalf > 102400 * 0.35 && byHalf < 102400 * 0.65, `${byHalf} bytes by half time`);
});

Deno.test("echo_send_chunk: the client reads each chunk separately, the delay between them", async () => {
  await using server = await serve({
    server: `echo_send_chunk 5 0.1; echo -n "aaaaabbbbbccccc";`,
  });
  using conn = await connect(server.addrs[0].port);
  const seen = await readToEnd(conn);
  assert.equal(seen.text, "aaaaabbbbbccccc");
  assert.deepEqual(seen.reads.map((r) => r.n), [5, 5, 5]);
  for (const i of [1, 2]) {
    const gap = seen.reads[i].at - seen.reads[i - 1].at;
    assert.ok(gap >= 90 && gap < 1000, `gap ${i}: ${Math.round(gap)} ms`);
  }
});

const limitCases: { name: string; config: string; text: string; end: "eof" | "reset" }[] = [
  {
    name: "cuts the reply after SIZE bytes and closes",
    config: "echo_send_limit 10; echo_duplicate 100 x; echo never;",
    text: "x".repeat(10),
    end: "eof",
  },
  {
    name: "with reset, resets after SIZE bytes",
    config: "echo_send_limit 10 reset; echo_duplicate 100 x;",
    text: "x".repeat(10),
    end: "reset",
  },
  {
    name: "counts from where it stands, through pacing and chunking",
    config: "echo head; echo_send_chunk 3; echo_send_limit 7; echo_duplicate 100 y;",
    text: "head\n" + "y".repeat(7),
    end: "eof",
  },
];

for (const c of limitCases) {
  Deno.test(`echo_send_limit ${c.name}`, async () => {
    await using server = await serve({ server: c.config });
    for (let i = 0; i < 3; i++) {
      using conn = await connect(server.addrs[0].port);
      const seen = await readToEnd(conn);
      assert.deepEqual([seen.text, seen.end], [c.text, c.end], `run ${i + 1}`);
    }
  });
}

Deno.test("echo_random_bytes: SIZE bytes, the same sequence for the same seed on two runs", async () => {
  const run = async () => {
    await using server = await serve({ server: "echo_random_seed 2024; echo_random_bytes 1000;" });
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      using conn = await connect(server.addrs[0].port);
      const seen = await readToEnd(conn);
      assert.equal(seen.reads.reduce((n, r) => n + r.n, 0), 1000);
      got.push(seen.text);
    }
    return got;
  };
  const first = await run();
  assert.deepEqual(await run(), first);
  assert.notEqual(first[0], first[1], "each connection its own bytes");
});

Deno.test("a seeded probability block gives the same sequence of outcomes on two runs", async () => {
  const run = async () => {
    await using server = await serve({
      server: `echo_random_seed 5; echo_read_line;
        echo_split { 30% { echo -n slow; } 30% { echo_reset; } 20% { echo_shutdown; } * { echo -n ok; } }`,
    });
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      using conn = await connect(server.addrs[0].port);
      await conn.write(enc.encode("go\n"));
      const r = await readToEnd(conn);
      seen.push(r.end === "reset" ? "reset" : r.text === "" ? "half-close" : r.text);
    }
    return seen;
  };
  const first = await run();
  assert.deepEqual(await run(), first);
  assert.deepEqual(new Set(first), new Set(["slow", "reset", "half-close", "ok"]), first.join());
});
