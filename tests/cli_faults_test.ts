/**
 * The fault directives through the CLI (the binary's socket path, which writes and reads the
 * socket directly): a real client sees the reset, the half-close, the chunks and the limit.
 */
import assert from "node:assert/strict";
import { CliProcess, oneServer, TempDir } from "./cli_harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function request(port: number, line: string) {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(enc.encode(line));
  const buf = new Uint8Array(65536);
  let text = "";
  const reads: number[] = [];
  const t0 = performance.now();
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return { text, end: "eof", reads };
      reads.push(performance.now() - t0);
      text += dec.decode(buf.subarray(0, n));
    }
  } catch (err) {
    if (err instanceof Deno.errors.ConnectionReset) return { text, end: "reset", reads };
    throw err;
  }
}

Deno.test("serve: echo_reset, echo_shutdown, echo_send_chunk and echo_send_limit seen by a client", async () => {
  using dir = new TempDir();
  const conf = dir.write(
    "faults.conf",
    oneServer(String.raw`
        echo_read_line;
        echo_match {
            when = "reset\n" { echo -n partial; echo_flush_wait; echo_reset; }
            when = "shutdown\n" { echo -n bye; echo_shutdown; echo_read_line; echo_read_line; }
            when = "chunk\n" { echo_send_chunk 3 0.1; echo -n abcdefghi; }
            when = "limit\n" { echo_send_limit 5 reset; echo_duplicate 100 x; }
        }`),
  );
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  const port = await p.port();

  for (let i = 0; i < 5; i++) {
    const r = await request(port, "reset\n");
    assert.deepEqual([r.text, r.end], ["partial", "reset"]);
  }

  const limited = await request(port, "limit\n");
  assert.deepEqual([limited.text, limited.end], ["xxxxx", "reset"]);

  const chunked = await request(port, "chunk\n");
  assert.deepEqual([chunked.text, chunked.end, chunked.reads.length], ["abcdefghi", "eof", 3]);
  assert.ok(chunked.reads[2] - chunked.reads[0] >= 180, `reads at ${chunked.reads}`);

  // EOF first, then the server still reads two more lines from us.
  {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(enc.encode("shutdown\n"));
    const buf = new Uint8Array(16);
    assert.equal(dec.decode(buf.subarray(0, (await conn.read(buf))!)), "bye");
    assert.equal(await conn.read(buf), null);
    await conn.write(enc.encode("one\ntwo\n"));
    conn.closeWrite();
    assert.equal(await conn.read(buf), null);
  }
  p.kill("SIGTERM");
  await p.exited();
  assert.doesNotMatch(p.stderr, /\[(error|crit|alert|emerg)\]/);
});
