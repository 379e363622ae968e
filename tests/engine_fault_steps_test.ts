/**
 * Fault steps in the engine, over in-memory connections (the real-socket behaviour is in
 * mod_faults_test.ts): what each sends, when the session ends, and how.
 */
import assert from "node:assert/strict";
import { Prng, sessionPrng } from "../src/engine/random.ts";
import { ioTest, runMemory, script } from "./engine_harness.ts";

const off = "echo_lingering_close off;";

ioTest("echo_close flushes what is queued and skips every later step", async () => {
  const { conn, done } = runMemory(
    script(`${off} echo a; echo_duplicate 3 b; echo_close; echo c;`),
  );
  assert.equal((await done).end, "eof");
  assert.equal(conn.text(), "a\nbbb");
  assert.ok(conn.closed);
});

ioTest(
  "echo_close keeps lingering close: input after it is drained to the client's EOF",
  async () => {
    const { conn, done } = runMemory(script("echo_lingering_close always; echo bye; echo_close;"));
    conn.send("late input\n");
    setTimeout(() => conn.end(), 30);
    assert.equal((await done).end, "eof");
    assert.equal(conn.text(), "bye\n");
    assert.ok(conn.halfClosed, "half-closed first, then lingered");
  },
);

ioTest("echo_reset drops queued output and ends the session as a reset", async () => {
  const { conn, done, logger } = runMemory(
    script(`${off} echo sent; echo_flush_wait; echo_duplicate 100000 x; echo_reset; echo never;`),
    { sink: "ok" },
  );
  const result = await done;
  assert.equal(result.end, "reset");
  assert.match(result.reason!, /^reset by "echo_reset" in .*:\d+$/);
  assert.ok(conn.text().startsWith("sent\n"));
  assert.ok(!conn.text().includes("never"));
  assert.ok(conn.closed);
  assert.deepEqual(logger.lines, [], "a reset the script asked for is not an error");
});

ioTest(
  "echo_shutdown half-closes; later reads still read, later output is skipped with a warn",
  async () => {
    const { conn, done, logger } = runMemory(
      script(`${off} echo hello; echo_shutdown; echo_read_line; echo after; echo_request_data;`),
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(conn.halfClosed, "FIN sent before any input");
    assert.equal(conn.text(), "hello\n");
    conn.send("still read\n");
    assert.equal((await done).end, "eof");
    assert.equal(conn.text(), "hello\n");
    assert.equal(logger.lines.length, 2);
    assert.match(logger.lines[0], /\[warn\] .*"echo" after "echo_shutdown" sends nothing in .*:1/);
    assert.match(logger.lines[1], /"echo_request_data" after "echo_shutdown" sends nothing/);
  },
);

ioTest("echo_send_chunk splits later output into writes of at most SIZE bytes", async () => {
  const { conn, done } = runMemory(
    script(
      `${off} echo -n before; echo_send_chunk 4; echo -n abcdefghij; echo_send_chunk 0; echo -n 0123456789;`,
    ),
  );
  assert.equal((await done).end, "eof");
  assert.equal(conn.text(), "beforeabcdefghij0123456789");
  assert.deepEqual(conn.chunkSizes, [6, 4, 4, 2, 10]);
});

ioTest("echo_send_chunk waits DELAY between writes", async () => {
  const { conn, done } = runMemory(script(`${off} echo_send_chunk 2 0.05; echo -n abcdef;`));
  const t0 = performance.now();
  assert.equal((await done).end, "eof");
  const took = performance.now() - t0;
  assert.deepEqual(conn.chunkSizes, [2, 2, 2]);
  assert.ok(took >= 95 && took < 1000, `three writes 50 ms apart took ${took} ms`);
});

const limits: { name: string; body: string; sent: string; end: string }[] = [
  {
    name: "cuts the reply and closes",
    body: "echo_send_limit 5; echo hello world;",
    sent: "hello",
    end: "eof",
  },
  {
    name: "counts from where it is set",
    body: "echo abc; echo_send_limit 2; echo defgh;",
    sent: "abc\nde",
    end: "eof",
  },
  {
    name: "stops the script at the limit",
    body: "echo_send_limit 3; echo -n abc; echo_read_line; echo never;",
    sent: "abc",
    end: "eof",
  },
  {
    name: "does nothing when the script sends less",
    body: "echo_send_limit 100; echo short;",
    sent: "short\n",
    end: "eof",
  },
  {
    name: "0 ends the session at once",
    body: "echo_send_limit 0; echo_read_line; echo x;",
    sent: "",
    end: "eof",
  },
  {
    name: "drops what is queued after it at once (no terabyte walked through)",
    body: "echo_send_limit 3; echo -n abc; echo_random_bytes 1024g; echo_duplicate 1000000000 x;",
    sent: "abc",
    end: "eof",
  },
  {
    name: "with reset ends as a reset",
    body: "echo_send_limit 4 reset; echo hello;",
    sent: "hell",
    end: "reset",
  },
];

for (const c of limits) {
  ioTest(`echo_send_limit ${c.name}`, async () => {
    const { conn, done } = runMemory(script(`${off} ${c.body}`));
    const result = await Promise.race([
      done,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("hung")), 2000)),
    ]);
    assert.equal(result.end, c.end);
    assert.equal(conn.text(), c.sent);
  });
}

ioTest("echo_send_rate paces a reply: 2 KiB at 20k/s takes about 100 ms", async () => {
  const { conn, done } = runMemory(script(`${off} echo_send_rate 20k; echo_duplicate 2048 a;`));
  const t0 = performance.now();
  assert.equal((await done).end, "eof");
  const took = performance.now() - t0;
  assert.equal(conn.bytes(), 2048);
  assert.ok(took >= 95 && took < 1000, `took ${took} ms`);
  assert.ok(Math.max(...conn.chunkSizes) <= 1024, "smooth: slices of 1/20 s");
});

ioTest("echo_send_rate 0 turns pacing off again", async () => {
  const { conn, done } = runMemory(
    script(`${off} echo_send_rate 100; echo_send_rate 0; echo_duplicate 10000 a;`),
  );
  const t0 = performance.now();
  assert.equal((await done).end, "eof");
  assert.equal(conn.bytes(), 10000);
  assert.ok(performance.now() - t0 < 500);
});

ioTest("pacing and chunk delays count as progress for the send timeout", async () => {
  const { conn, done } = runMemory(
    script(
      `${off} echo_send_timeout 50ms; echo_send_rate 1k; echo_duplicate 300 a; ` +
        `echo_send_rate 0; echo_send_chunk 1 0.08; echo -n bc;`,
    ),
  );
  assert.equal((await done).end, "eof");
  assert.equal(conn.bytes(), 302);
});

ioTest("the send timeout still fires through a stage when the client stops reading", async () => {
  const { done } = runMemory(
    script(`${off} echo_send_timeout 50ms; echo_send_chunk 2 0.01; echo abcdef;`),
    { sink: "stall" },
  );
  const result = await done;
  assert.equal(result.end, "timeout");
});

ioTest("echo_random_bytes sends SIZE bytes, made piece by piece", async () => {
  const { conn, done } = runMemory(script(`${off} echo_random_bytes 1m;`));
  assert.equal((await done).end, "eof");
  assert.equal(conn.bytes(), 1 << 20);
  assert.ok(Math.max(...conn.chunkSizes) <= 65536, "never the whole size at once");
});

ioTest("echo_random_bytes: the same bytes for the same seed, other bytes without one", async () => {
  const bytesOf = async (streamLevel: string) => {
    // Each call loads the config anew: a new server, its seeded sequence from the start.
    const { conn, done } = runMemory(script(`${off} echo_random_bytes 300;`, streamLevel));
    await done;
    return conn.text();
  };
  assert.equal(await bytesOf("echo_random_seed 9;"), await bytesOf("echo_random_seed 9;"));
  assert.notEqual(await bytesOf("echo_random_seed 9;"), await bytesOf("echo_random_seed 10;"));
  assert.notEqual(await bytesOf(""), await bytesOf(""));
});

ioTest("echo_sleep MIN..MAX sleeps within the range", async () => {
  const { done } = runMemory(script(`${off} echo_sleep 0.05..0.08; echo x;`));
  const t0 = performance.now();
  await done;
  const took = performance.now() - t0;
  assert.ok(took >= 48 && took < 1000, `took ${took} ms`);
});

Deno.test("a seeded server gives its sessions the same sequence run after run", () => {
  const draws = (owner: object) =>
    Array.from({ length: 5 }, () => sessionPrng(owner, 1234).below(100));
  const a = draws({});
  const b = draws({});
  assert.deepEqual(a, b);
  assert.ok(new Set(a).size > 1, "sessions differ from each other");
  assert.notDeepEqual(
    Array.from({ length: 5 }, () => sessionPrng({}, undefined).u32()),
    Array.from({ length: 5 }, () => sessionPrng({}, undefined).u32()),
  );
});

Deno.test("Prng.below stays in range and covers it", () => {
  const prng = Prng.fromSeed(1);
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const x = prng.below(10);
    assert.ok(Number.isInteger(x) && x >= 0 && x < 10);
    seen.add(x);
  }
  assert.equal(seen.size, 10);
});

ioTest("fault steps run inside loops and branches: echo_close leaves every loop", async () => {
  const { conn, done } = runMemory(script(
    `${off} echo_loop { echo_read_line; echo_match { when = "quit\\n" { echo bye; echo_close; } ` +
      `default { echo_request_data; } } } echo never;`,
  ));
  conn.send("a\nb\nquit\nc\n");
  assert.equal((await done).end, "eof");
  assert.equal(conn.text(), "a\nb\nbye\n");
});

ioTest("fault steps run inside loops and branches: echo_reset in a branch", async () => {
  const { conn, done } = runMemory(script(
    `${off} echo_loop { echo_read_line; echo_match { when = "boom\\n" { echo_reset; } ` +
      `default { echo_send_chunk 1; echo_request_data; } } }`,
  ));
  conn.send("ab\nboom\nlater\n");
  const result = await done;
  assert.equal(result.end, "reset");
  assert.equal(conn.text(), "ab\n");
  assert.deepEqual(conn.chunkSizes, [1, 1, 1], "the chunking set inside the loop applied");
});

/** The outcomes of `n` sessions, one after another, of one loaded script. */
async function outcomes(body: string, n: number): Promise<string[]> {
  const s = script(`${off} ${body}`);
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    const { conn, done } = runMemory(s);
    const result = await done;
    seen.push(result.end === "reset" ? "RESET" : conn.text());
  }
  return seen;
}

ioTest(
  "echo_split: one branch per draw, by share; seeded, the same sequence on two loads",
  async () => {
    const body = "echo_random_seed 77; echo_split { 25% { echo -n a; } 25% { echo -n b; } " +
      "25% { echo_reset; } * { echo -n d; } }";
    const first = await outcomes(body, 400);
    assert.deepEqual(await outcomes(body, 400), first);
    for (const kind of ["a", "b", "RESET", "d"]) {
      const count = first.filter((o) => o === kind).length;
      assert.ok(count > 60 && count < 140, `${kind}: ${count} of 400`);
    }
    assert.notDeepEqual(await outcomes(body.replace("77", "78"), 400), first);
  },
);

ioTest("echo_chance 20% runs its body about one time in five", async () => {
  const seen = await outcomes("echo_chance 20% { echo -n hit; } echo -n .;", 1000);
  const hits = seen.filter((o) => o === "hit.").length;
  assert.equal(seen.filter((o) => o !== "hit." && o !== ".").length, 0);
  assert.ok(hits > 150 && hits < 250, `${hits} of 1000`);
});

ioTest(
  "echo_split without * runs nothing in the rest; a branch may break out of a loop",
  async () => {
    const { conn, done } = runMemory(script(
      `${off} echo_loop 5 { echo -n x; echo_split { 100% { echo_break; } } } echo -n y;` +
        ` echo_split { 0.01% { echo never; } }`,
    ));
    assert.equal((await done).end, "eof");
    assert.ok(conn.text() === "xy" || conn.text() === "xynever\n");
  },
);
