/** serve() and its handle: options, waiting, reloading, transcript caps, errors. */
import assert from "node:assert/strict";
import { ConfigError, serve } from "../mod.ts";

const enc = new TextEncoder();
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

async function exchange(port: number, send = ""): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  if (send) await conn.write(enc.encode(send));
  return await new Response(conn.readable).text();
}

Deno.test("serve({ server }) listens on 127.0.0.1 on a port of its own and tells onListen", async () => {
  let told: Deno.Addr[] = [];
  await using server = await serve({ server: "echo hi;", onListen: (a) => told = a });
  assert.equal(server.addrs.length, 1);
  const [addr] = server.addrs;
  assert.equal(addr.transport, "tcp");
  assert.equal(addr.hostname, "127.0.0.1");
  assert.ok(addr.port > 0);
  assert.deepEqual(told, server.addrs);
});

Deno.test("serve({ config }) serves every listener of a full config", async () => {
  await using server = await serve({
    config: `
      stream {
        server { listen 127.0.0.1:0; echo a; }
        server { listen 127.0.0.1:0; echo b; }
      }`,
  });
  const ports = server.addrs.map((a) => (a as Deno.NetAddr).port);
  assert.deepEqual(await Promise.all(ports.map((p) => exchange(p))), ["a\n", "b\n"]);
  const ts = await server.waitForSessions(2);
  assert.deepEqual(ts.map((t) => t.serverIndex).sort(), [0, 1]);
});

Deno.test("waitForSessions() rejects with TimedOut, naming how many ended, when too few end", async () => {
  await using server = await serve({ server: "echo hi;" });
  await exchange(server.addrs[0].port);
  const t0 = performance.now();
  await assert.rejects(server.waitForSessions(2, { timeout: 50 }), (err) => {
    assert.ok(err instanceof Deno.errors.TimedOut);
    assert.match(err.message, /waitForSessions\(2\) timed out after 50 ms: 1 session\(s\) ended/);
    return true;
  });
  assert.ok(performance.now() - t0 < 1000);
});

Deno.test("waitForSessions() rejects at once when the server stops with too few sessions", async () => {
  const server = await serve({ server: "echo hi;" });
  const waiting = server.waitForSessions(1, { timeout: 10_000 });
  await server.close();
  await assert.rejects(waiting, /the server stopped after 0 session\(s\) ended/);
});

Deno.test("waitForSessions() resolves with exactly the first n transcripts", async () => {
  await using server = await serve({ server: "echo_read_line; echo_request_data;" });
  for (const line of ["a\n", "b\n", "c\n"]) await exchange(server.addrs[0].port, line);
  const ts = await server.waitForSessions(2);
  assert.deepEqual(ts.map((t) => text(t.sent)), ["a\n", "b\n"]);
  assert.equal((await server.waitForSessions(3)).length, 3);
});

Deno.test("a transcript keeps maxTranscriptBytes per direction and marks what it cut", async () => {
  await using server = await serve({
    server: "echo_read_bytes 8; echo_duplicate 100 x;",
    maxTranscriptBytes: 5,
  });
  assert.equal(await exchange(server.addrs[0].port, "12345678"), "x".repeat(100));
  const [t] = await server.waitForSessions(1);
  assert.equal(text(t.received), "12345");
  assert.equal(text(t.sent), "xxxxx");
  assert.deepEqual(t.truncated, { received: true, sent: true });
});

Deno.test("the default cap is 1 MiB per direction", async () => {
  await using server = await serve({ server: "echo_duplicate 1100000 y;" });
  assert.equal((await exchange(server.addrs[0].port)).length, 1_100_000);
  const [t] = await server.waitForSessions(1);
  assert.equal(t.sent.byteLength, 1024 * 1024);
  assert.equal(t.truncated.sent, true);
});

Deno.test("record: false keeps no transcript; waitForSessions() still counts sessions", async () => {
  await using server = await serve({ server: "echo_read_line; echo ok;", record: false });
  assert.equal(await exchange(server.addrs[0].port, "hi\n"), "ok\n");
  assert.deepEqual(await server.waitForSessions(1), []);
  assert.deepEqual(server.transcripts(), []);
  await assert.rejects(
    server.waitForSessions(2, { timeout: 10 }),
    /^TimedOut: waitForSessions\(2\) timed out after 10 ms: 1 session\(s\) ended$/,
  );
});

Deno.test("reload() swaps the script and keeps the port", async () => {
  await using server = await serve({ server: "echo one;" });
  const { port } = server.addrs[0];
  assert.equal(await exchange(port), "one\n");
  await server.reload({ server: "echo two;" });
  assert.equal(server.addrs[0].port, port);
  assert.equal(await exchange(port), "two\n");
});

Deno.test("reload() with a bad config rejects with ConfigError and keeps serving the old one", async () => {
  await using server = await serve({ server: "echo one;" });
  const { port } = server.addrs[0];
  await assert.rejects(server.reload({ server: "echo two;\nbogus;" }), {
    name: "ConfigError",
    message: 'unknown directive "bogus" in <server>:2',
  });
  assert.equal(await exchange(port), "one\n");
});

Deno.test("reload() keeps a session in flight on the config it started with", async () => {
  await using server = await serve({ server: "echo_read_line; echo old;" });
  const { port } = server.addrs[0];
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await new Promise((r) => setTimeout(r, 20));
  await server.reload({ server: "echo_read_line; echo new;" });
  await conn.write(enc.encode("x\n"));
  assert.equal(await new Response(conn.readable).text(), "old\n");
  assert.equal(await exchange(port, "y\n"), "new\n");
});

Deno.test("a server started from a body cannot be reloaded onto a Unix socket", async () => {
  await using server = await serve({ server: "echo one;" });
  await assert.rejects(
    server.reload({ config: "stream { server { listen unix:/tmp/x.sock; echo a; } }" }),
    TypeError,
  );
});

Deno.test("serve() rejects options with both or neither of config and server", async () => {
  // deno-lint-ignore no-explicit-any
  const bad: any[] = [{}, { config: "", server: "" }];
  for (const options of bad) await assert.rejects(serve(options), TypeError);
});

Deno.test("serve() rejects a negative maxTranscriptBytes before binding anything", async () => {
  await assert.rejects(serve({ server: "echo;", maxTranscriptBytes: -1 }), RangeError);
});

Deno.test("logs go to the injected logger and nowhere else", async () => {
  const lines: string[] = [];
  const logger = {
    enabled: () => true,
    log: (level: string, message: string) => void lines.push(`[${level}] ${message}`),
  };
  await using server = await serve({
    server: "echo_read_timeout 50ms; echo_read_line;",
    logger,
  });
  await exchange(server.addrs[0].port);
  await server.waitForSessions(1);
  assert.ok(lines.some((l) => /timed out/.test(l)), lines.join("\n"));
});

Deno.test("ConfigError is exported and is what serve() rejects with", async () => {
  const err = await serve({ server: "echo_sleep;" }).catch((e) => e);
  assert.ok(err instanceof ConfigError);
});

Deno.test("a server body may begin and end with comments", async () => {
  await using server = await serve({ server: "# a mock\necho hi; # greet\n# the end" });
  assert.equal(await exchange(server.addrs[0].port), "hi\n");
});

Deno.test("waitForSessions() rejects a count or timeout that makes no sense", async () => {
  await using server = await serve({ server: "echo hi;" });
  await assert.rejects(server.waitForSessions(-1), RangeError);
  await assert.rejects(server.waitForSessions(1.5), RangeError);
  await assert.rejects(server.waitForSessions(1, { timeout: NaN }), RangeError);
});
