/**
 * startServer() in process: the handle, observers, shutdown flavours, reload rules and the
 * accept loop's resilience.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/loader.ts";
import type { Config } from "../src/config/types.ts";
import { createLogger, type LogLevel } from "../src/log/logger.ts";
import type { SessionResult } from "../src/engine/types.ts";
import { startServer } from "../src/server/server.ts";
import { acceptLoop } from "../src/server/accept_loop.ts";
import { ListenError } from "../src/server/listen_error.ts";
import type { SessionInfo } from "../src/server/types.ts";

const config = (text: string, main = ""): Config =>
  parseConfig(`${main}\nstream {\n${text}\n}\n`, { file: "t.conf" });
const one = (body: string, main = "") => config(`server { listen 127.0.0.1:0; ${body} }`, main);
const portOf = (a: Deno.Addr) => (a as Deno.NetAddr).port;

async function fetchText(port: number, send?: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  if (send) await conn.write(new TextEncoder().encode(send));
  return await new Response(conn.readable).text();
}

function memoryLogger(level: LogLevel = "debug") {
  const lines: string[] = [];
  return { lines, logger: createLogger((l) => lines.push(l), { level, pid: 1 }) };
}

Deno.test("startServer calls onListen with the bound addresses and serves the steps", async () => {
  let seen: Deno.Addr[] = [];
  await using server = await startServer(
    config("server { listen 127.0.0.1:0; listen 127.0.0.1:0; echo hi; }"),
    { onListen: (addrs) => seen = addrs },
  );
  assert.equal(seen.length, 2);
  assert.deepEqual(seen, server.addrs);
  assert.notEqual(portOf(seen[0]), 0);
  assert.equal(await fetchText(portOf(seen[1])), "hi\n");
});

Deno.test("observers see every session: wrap before it runs, ended with the result", async () => {
  const wrapped: SessionInfo[] = [];
  const ended: { info: SessionInfo; result: SessionResult; ms: number }[] = [];
  await using server = await startServer(
    config("server { listen 127.0.0.1:0; echo a; } server { listen 127.0.0.1:0; echo b; }"),
    {
      observer: {
        wrap(io, info) {
          wrapped.push(info);
          return io;
        },
        ended(info, result, startedAt, endedAt) {
          ended.push({ info, result, ms: endedAt - startedAt });
        },
      },
    },
  );
  assert.equal(await fetchText(portOf(server.addrs[0])), "a\n");
  assert.equal(await fetchText(portOf(server.addrs[1])), "b\n");
  await server.shutdown();
  assert.deepEqual(wrapped.map((i) => [i.id, i.serverIndex]), [[1, 0], [2, 1]]);
  assert.deepEqual(ended.map((e) => e.result.end).sort(), ["eof", "eof"]);
  for (const e of ended) assert.ok(e.ms >= 0);
  assert.equal((wrapped[0].localAddr as Deno.NetAddr).port, portOf(server.addrs[0]));
});

Deno.test("an observer that throws is logged and the server keeps serving", async () => {
  const { lines, logger } = memoryLogger();
  let calls = 0;
  await using server = await startServer(one("echo ok;"), {
    logger,
    observer: {
      wrap(io) {
        if (calls++ === 0) throw new Error("observer broke");
        return io;
      },
    },
  });
  const port = portOf(server.addrs[0]);
  assert.equal(await fetchText(port), "");
  assert.equal(await fetchText(port), "ok\n");
  assert.ok(lines.some((l) => /\[alert\] 1#0: \*1 stream session failed: observer broke/.test(l)));
});

Deno.test("close() ends sessions in flight at once with end 'shutdown'", async () => {
  const ends: string[] = [];
  const server = await startServer(one("echo start; echo_flush_wait; echo_sleep 30; echo end;"), {
    observer: { ended: (_i, r) => ends.push(r.end) },
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portOf(server.addrs[0]) });
  const reader = conn.readable.getReader();
  await reader.read();
  const t0 = performance.now();
  await server.close();
  await server.finished;
  assert.ok(performance.now() - t0 < 500);
  assert.deepEqual(ends, ["shutdown"]);
  await reader.cancel().catch(() => {});
});

Deno.test("shutdown() waits for sessions; worker_shutdown_timeout caps the wait", async () => {
  const graceful = await startServer(one("echo_sleep 0.2; echo done;"));
  const reply = fetchText(portOf(graceful.addrs[0]));
  await new Promise((r) => setTimeout(r, 50));
  await graceful.shutdown();
  assert.equal(await reply, "done\n");

  const capped = await startServer(
    one("echo_sleep 30; echo never;", "worker_shutdown_timeout 100ms;"),
  );
  const cut = fetchText(portOf(capped.addrs[0])).catch(() => "reset");
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await capped.shutdown();
  const ms = performance.now() - t0;
  assert.ok(ms >= 80 && ms < 1000, `capped shutdown took ${ms} ms`);
  assert.ok(["", "reset"].includes(await cut));
});

Deno.test("aborting the signal closes the server; asyncDispose shuts it down", async () => {
  const ac = new AbortController();
  const server = await startServer(one("echo hi;"), { signal: ac.signal });
  ac.abort();
  await server.finished;
  await assert.rejects(() => Deno.connect({ port: portOf(server.addrs[0]) }));

  const pre = new AbortController();
  pre.abort();
  const already = await startServer(one("echo hi;"), { signal: pre.signal });
  await already.finished;

  let port = 0;
  {
    await using s = await startServer(one("echo hi;"));
    port = portOf(s.addrs[0]);
  }
  await assert.rejects(() => Deno.connect({ port }), Deno.errors.ConnectionRefused);
});

Deno.test("reload keeps unchanged listeners (ports stay, in order), opens new, closes removed", async () => {
  await using server = await startServer(
    config("server { listen 127.0.0.1:0; listen 127.0.0.1:0; echo old; }"),
  );
  const before = server.addrs.map(portOf);
  await server.reload(
    config(
      "server { listen 127.0.0.1:0; listen 127.0.0.1:0; echo new; } " +
        "server { listen 127.0.0.1:0; listen 127.0.0.1:0; listen 127.0.0.1:0; echo extra; }",
    ),
  );
  const after = server.addrs.map(portOf);
  assert.equal(after.length, 5);
  assert.deepEqual(after.slice(0, 2), before);
  assert.equal(await fetchText(after[0]), "new\n");
  assert.equal(await fetchText(after[4]), "extra\n");
  await server.reload(config("server { listen 127.0.0.1:0; echo last; }"));
  assert.deepEqual(server.addrs.map(portOf), [before[0]]);
  await assert.rejects(() => Deno.connect({ port: before[1] }), Deno.errors.ConnectionRefused);
  await assert.rejects(() => Deno.connect({ port: after[4] }), Deno.errors.ConnectionRefused);
});

Deno.test("a reload that cannot bind rejects with ListenError and leaves the old config serving", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using server = await startServer(one("echo old;"));
  const port = portOf(server.addrs[0]);
  const bad = config(
    `server { listen 127.0.0.1:0; echo new; } server { listen 127.0.0.1:${taken.addr.port}; echo x; }`,
  );
  await assert.rejects(() => server.reload(bad), ListenError);
  assert.deepEqual(server.addrs.map(portOf), [port]);
  assert.equal(await fetchText(port), "old\n");
});

Deno.test("a failed reload racing close() never reopens a listener after the server stopped", async () => {
  for (const ticks of [0, 1, 2, 3, 5, 8, 13]) {
    // 127.0.0.2:P is taken, so a reload from 127.0.0.1:P to 0.0.0.0:P closes the old listener,
    // fails to bind, and would reopen the old one: close() comes in at some point of that.
    using other = Deno.listen({ hostname: "127.0.0.2", port: 0 });
    const port = other.addr.port;
    const server = await startServer(config(`server { listen 127.0.0.1:${port}; echo a; }`));
    const reload = server.reload(config(`server { listen 0.0.0.0:${port}; echo b; }`))
      .then(() => "reloaded", (e) => e);
    for (let i = 0; i < ticks; i++) await null;
    await server.close();
    await reload;
    await server.finished;
    await assert.rejects(
      () => Deno.connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
      `after ${ticks} ticks the old listener is open again`,
    );
  }
});

Deno.test("a logger that throws on every line never takes the server down", async () => {
  let calls = 0;
  const logger = {
    enabled: () => true,
    log: () => {
      calls++;
      throw new Error("log sink full");
    },
  };
  await using server = await startServer(one("echo_read_line; echo ok;"), { logger });
  const port = portOf(server.addrs[0]);
  for (let i = 0; i < 3; i++) assert.equal(await fetchText(port, "x\n"), "ok\n");
  assert.ok(calls > 0);
});

Deno.test("a unix listener's socket file is removed when the server stops", async () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/s.sock`;
  const server = await startServer(config(`server { listen unix:${path}; echo u; }`));
  const conn = await Deno.connect({ transport: "unix", path });
  assert.equal(await new Response(conn.readable).text(), "u\n");
  await server.shutdown();
  assert.throws(() => Deno.lstatSync(path), Deno.errors.NotFound);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("the accept loop survives client-caused and resource errors, and ends on close", async () => {
  const { lines, logger } = memoryLogger();
  const errors = [
    Object.assign(new Error("Socket is not connected (os error 107)"), { code: "ENOTCONN" }),
    Object.assign(new Error("Too many open files (os error 24)"), { code: "EMFILE" }),
    Object.assign(new Error("Something odd"), { code: "EWHAT" }),
  ];
  const fakeConn = { close() {} } as unknown as Deno.Conn;
  let calls = 0;
  const listener = {
    accept(): Promise<Deno.Conn> {
      calls++;
      if (errors.length > 0) return Promise.reject(errors.shift());
      if (calls === 4) return Promise.resolve(fakeConn);
      return Promise.reject(new Deno.errors.BadResource("Listener has been closed"));
    },
  } as unknown as Deno.Listener;
  const accepted: Deno.Conn[] = [];
  await acceptLoop(listener, (c) => accepted.push(c), {
    logger,
    stopped: () => false,
    exhaustedDelay: 1,
    errorDelay: 1,
  });
  assert.deepEqual(accepted, [fakeConn]);
  assert.match(lines[0], /\[info\] 1#0: accept\(\) failed \(107: Socket is not connected\)/);
  assert.match(lines[1], /\[crit\] 1#0: accept\(\) failed \(24: Too many open files\)/);
  assert.match(lines[2], /\[alert\] 1#0: accept\(\) failed \(Something odd\)/);
  assert.equal(lines.length, 3);
});

Deno.test("a listen address that cannot be bound rejects startServer with ListenError", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // line 1: main, line 2: "stream {", line 3: first server, line 4: the busy listen
  const busy = config(
    `server { listen 127.0.0.1:0; echo a; }\nserver { listen 127.0.0.1:${taken.addr.port}; echo b; }`,
  );
  await assert.rejects(() => startServer(busy), (e: unknown) => {
    assert.ok(e instanceof ListenError);
    assert.equal(e.line, 4);
    assert.match(
      e.message,
      /failed \(98: Address already in use\) for "listen 127\.0\.0\.1:\d+" in t\.conf:4$/,
    );
    return true;
  });
});

Deno.test("connections beyond worker_connections are dropped with nginx's alert", async () => {
  const { lines, logger } = memoryLogger();
  await using server = await startServer(
    one("echo_read_line; echo ok;", "events { worker_connections 2; }"),
    { logger },
  );
  const port = portOf(server.addrs[0]);
  const held = [
    await Deno.connect({ hostname: "127.0.0.1", port }),
    await Deno.connect({ hostname: "127.0.0.1", port }),
  ];
  await new Promise((r) => setTimeout(r, 50));
  const extra = await Deno.connect({ hostname: "127.0.0.1", port });
  assert.equal(await new Response(extra.readable).text(), "");
  assert.ok(lines.some((l) => l.includes("[alert] 1#0: 2 worker_connections are not enough")));
  for (const c of held) {
    await c.write(new TextEncoder().encode("x\n"));
    assert.equal(await new Response(c.readable).text(), "ok\n");
  }
  assert.equal(await fetchText(port, "y\n"), "ok\n", "room again once sessions ended");
});

const hasOpenssl = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** A self-signed certificate for 127.0.0.1 with the given common name. */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const out = new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${dir}/${name}.key`,
      "-out",
      `${dir}/${name}.pem`,
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-addext",
      "basicConstraints=critical,CA:FALSE",
    ],
    stdout: "null",
    stderr: "piped",
  }).outputSync();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return { cert: `${dir}/${name}.pem`, key: `${dir}/${name}.key` };
}

Deno.test({
  name: "a reload that changes a TLS certificate re-binds that listener on the same port",
  ignore: !hasOpenssl,
  async fn() {
    const dir = Deno.makeTempDirSync();
    try {
      const a = selfSigned(dir, "first");
      const b = selfSigned(dir, "second");
      const tlsConfig = (c: { cert: string; key: string }, reply: string) =>
        config(
          `server { listen 127.0.0.1:0 ssl; ssl_certificate ${c.cert}; ` +
            `ssl_certificate_key ${c.key}; echo ${reply}; }`,
        );
      await using server = await startServer(tlsConfig(a, "one"));
      const port = portOf(server.addrs[0]);
      const get = async (caFile: string) => {
        const conn = await Deno.connectTls({
          hostname: "127.0.0.1",
          port,
          caCerts: [Deno.readTextFileSync(caFile)],
        });
        return await new Response(conn.readable).text();
      };
      assert.equal(await get(a.cert), "one\n");
      await server.reload(tlsConfig(a, "two"));
      assert.equal(portOf(server.addrs[0]), port);
      assert.equal(await get(a.cert), "two\n", "same certificate: the socket stayed open");
      await server.reload(config(
        `server { listen 127.0.0.1:${port} ssl; ssl_certificate ${b.cert}; ` +
          `ssl_certificate_key ${b.key}; echo three; }`,
      ));
      assert.equal(await get(b.cert), "three\n", "new certificate served on the same port");
      await assert.rejects(() => get(a.cert));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("concurrent reloads apply in call order; a reload racing a shutdown leaves nothing open", async () => {
  const server = await startServer(one("echo r0;"));
  const port = portOf(server.addrs[0]);
  await Promise.all([
    server.reload(
      config("server { listen 127.0.0.1:0; echo r1; } server { listen 127.0.0.1:0; echo x; }"),
    ),
    server.reload(one("echo r2;")),
  ]);
  assert.equal(server.addrs.length, 1);
  assert.equal(await fetchText(port), "r2\n");
  const racing = server.reload(
    config("server { listen 127.0.0.1:0; echo r3; } server { listen 127.0.0.1:0; echo y; }"),
  );
  const stopped = server.shutdown();
  await assert.rejects(racing, /shutting down/);
  await stopped;
  await server.finished;
});

Deno.test("an onListen callback that throws rejects startServer and closes the listeners", async () => {
  await assert.rejects(
    () =>
      startServer(one("echo hi;"), {
        onListen: () => {
          throw new Error("callback broke");
        },
      }),
    /callback broke/,
  );
});
