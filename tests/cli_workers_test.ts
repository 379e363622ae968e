/**
 * `worker_processes N` through the CLI: several workers accept on the same listeners and behave
 * as one server for signals, reload, the pid file, the error log and a graceful stop.
 */
import assert from "node:assert/strict";
import {
  cliCommand,
  CliProcess,
  exchange,
  exitedWithin as exited,
  TempDir,
} from "./cli_harness.ts";

const linux = Deno.build.os === "linux";

/** A config with `worker_processes 2`, a pid file, and one server replying `reply`. */
function conf(reply: string, pid: string): string {
  return `worker_processes 2;
pid ${pid};
stream {
    server {
        listen 127.0.0.1:0;
        echo_read_line;
        echo ${reply};
    }
}
`;
}

/** The connection number the server gave the client on local port `port` (from its log). */
function idOf(stderr: string, port: number): number | undefined {
  const m = new RegExp(`\\*(\\d+) client 127\\.0\\.0\\.1:${port} connected`).exec(stderr);
  return m ? Number(m[1]) : undefined;
}

/** Worker of connection `id` with 2 workers: odd numbers are worker 0's, even worker 1's. */
const workerOf = (id: number) => (id - 1) % 2;

/** How many connections each worker took among the "connected" lines of `text`. */
function perWorker(text: string): [number, number] {
  const ids = [...text.matchAll(/\*(\d+) client \S+ connected/g)].map((m) => Number(m[1]));
  return [ids.filter((i) => workerOf(i) === 0).length, ids.filter((i) => workerOf(i) === 1).length];
}

Deno.test({
  name:
    "worker_processes 2: both workers accept, HUP reloads both, QUIT waits for both, one pid file",
  ignore: !linux,
  async fn() {
    using dir = new TempDir();
    const pid = dir.file("se.pid");
    const path = dir.write("a.conf", conf("one", pid));
    await using p = new CliProcess(["serve", "-c", path], { cwd: dir.path });
    const port = await p.port();
    await p.waitFor(/stream-echo started with .* \(pid \d+, 2 workers\)/);
    assert.equal(Deno.readTextFileSync(pid), `${p.pid}\n`, "one pid file: the process's");

    for (let i = 0; i < 60; i++) assert.equal(await exchange({ port }, "x\n"), "one\n");
    await p.waitUntil(() => perWorker(p.stderr).reduce((a, b) => a + b) >= 60, "60 lines");
    const [w0, w1] = perWorker(p.stderr);
    assert.ok(w0 >= 5 && w1 >= 5, `connections per worker: ${w0} and ${w1}`);

    // A reload reaches both workers: every new connection, whichever worker takes it, replies
    // with the new config.
    dir.write("a.conf", conf("two", pid));
    const before = p.stderr.length;
    p.kill("SIGHUP");
    await p.waitFor(/configuration reloaded/);
    for (let i = 0; i < 40; i++) assert.equal(await exchange({ port }, "x\n"), "two\n");
    await p.waitUntil(
      () => perWorker(p.stderr.slice(before)).reduce((a, b) => a + b) >= 40,
      "40 more lines",
    );
    const [r0, r1] = perWorker(p.stderr.slice(before));
    assert.ok(r0 > 0 && r1 > 0, `after the reload: ${r0} and ${r1}`);

    // One session held open in each worker; a graceful stop waits for both.
    const held = new Map<number, Deno.TcpConn>();
    for (let i = 0; i < 100 && held.size < 2; i++) {
      const conn = await Deno.connect({ port });
      const local = conn.localAddr.port;
      await p.waitUntil(() => idOf(p.stderr, local) !== undefined, `connection ${local}`);
      const w = workerOf(idOf(p.stderr, local)!);
      if (held.has(w)) await exchange({ port }, "x\n").then(() => conn.close());
      else held.set(w, conn);
    }
    assert.equal(held.size, 2, "a session in each worker");
    p.kill("SIGQUIT");
    await p.waitFor(/waiting for 2 sessions to finish/);
    for (const conn of held.values()) {
      await conn.write(new TextEncoder().encode("x\n"));
      assert.equal(await new Response(conn.readable).text(), "two\n");
    }
    const status = await exited(p);
    assert.equal(status.code, 0);
    assert.match(p.stderr, /all sessions finished/);
    assert.match(p.stderr, /workers accepted \d+ \(worker 0\), \d+ \(worker 1\) connections/);
    assert.throws(() => Deno.statSync(pid), Deno.errors.NotFound, "pid file removed at exit");
  },
});

Deno.test({
  name: "worker_processes 2: SIGTERM ends sessions in both workers within a second",
  ignore: !linux,
  async fn() {
    using dir = new TempDir();
    const path = dir.write("a.conf", conf("one", dir.file("se.pid")));
    await using p = new CliProcess(["serve", "-c", path], { cwd: dir.path });
    const port = await p.port();
    await p.waitFor(/2 workers/);
    // Connections until one is worker 1's (ten at once all went to worker 0 about once in
    // a thousand runs: the kernel spreads them by a hash, not in turn).
    const conns: Deno.TcpConn[] = [];
    let inWorker1 = false;
    for (let i = 0; i < 100 && !inWorker1; i++) {
      const conn = await Deno.connect({ port });
      conns.push(conn);
      const local = conn.localAddr.port;
      await p.waitUntil(() => idOf(p.stderr, local) !== undefined, `connection ${local}`);
      inWorker1 = workerOf(idOf(p.stderr, local)!) === 1;
    }
    assert.ok(inWorker1, "a session in worker 1");
    const t0 = performance.now();
    p.kill("SIGTERM");
    assert.equal((await exited(p)).code, 0);
    const ms = performance.now() - t0;
    assert.ok(ms < 1000, `exited after ${ms.toFixed(0)} ms`);
    for (const c of conns) c.close();
  },
});

/** Runs `serve -c PATH` without --unstable-net until it has started; returns its stderr. */
async function serveWithoutUnstableNet(path: string, cwd: string): Promise<string> {
  const [cmd, ...args] = cliCommand().filter((a) => a !== "--unstable-net");
  const child = new Deno.Command(cmd, {
    args: [...args, "serve", "-c", path],
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/stream-echo started/.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  child.kill("SIGTERM");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  await child.status;
  return text;
}

Deno.test("worker_processes 2 without reusePort (no --unstable-net): one worker and a notice", async () => {
  using dir = new TempDir();
  const path = dir.write("a.conf", conf("one", dir.file("se.pid")));
  const text = await serveWithoutUnstableNet(path, dir.path);
  const why = linux ? "needs Deno's --unstable-net flag" : "only on Linux";
  assert.match(
    text,
    new RegExp(`"worker_processes" is 2, but reusePort .*${why}.*: one worker serves`),
  );
  assert.match(text, /stream-echo started with .* \(pid \d+\)\n/);
});

Deno.test("listen ... reuseport without --unstable-net: a warning, and the listener opens without it", async () => {
  using dir = new TempDir();
  const path = dir.write(
    "a.conf",
    "stream { server { listen 127.0.0.1:0 reuseport; echo hi; } }\n",
  );
  const text = await serveWithoutUnstableNet(path, dir.path);
  assert.match(
    text,
    /\[warn\] .*"reuseport" needs Deno's --unstable-net flag; listening without it/,
  );
  assert.match(text, /listening on 127\.0\.0\.1:\d+/);
});

Deno.test({
  name:
    "a reload that changes worker_processes says it takes effect at restart, and serves the new config",
  ignore: !linux,
  async fn() {
    using dir = new TempDir();
    const pid = dir.file("se.pid");
    const path = dir.write("a.conf", conf("one", pid));
    await using p = new CliProcess(["serve", "-c", path], { cwd: dir.path });
    const port = await p.port();
    await p.waitFor(/2 workers/);
    dir.write("a.conf", conf("two", pid).replace("worker_processes 2;", "worker_processes 3;"));
    p.kill("SIGHUP");
    await p.waitFor(/configuration reloaded/);
    assert.match(
      p.stderr,
      /"worker_processes" changed to 3: it takes effect when the server is restarted; 2 serve until then/,
    );
    for (let i = 0; i < 10; i++) assert.equal(await exchange({ port }, "x\n"), "two\n");
    p.kill("SIGTERM");
    assert.equal((await exited(p)).code, 0);
  },
});

Deno.test({
  name:
    "worker_processes 2: a second stream-echo on a port the first one serves fails to start instead of silently sharing it",
  ignore: !linux,
  async fn() {
    using dir = new TempDir();
    const first = dir.write("a.conf", conf("first", dir.file("a.pid")));
    await using a = new CliProcess(["serve", "-c", first], { cwd: dir.path });
    const port = await a.port();
    const second = dir.write(
      "b.conf",
      conf("second", dir.file("b.pid")).replace("127.0.0.1:0", `127.0.0.1:${port}`),
    );
    await using b = new CliProcess(["serve", "-c", second], { cwd: dir.path });
    const status = await exited(b);
    assert.equal(status.code, 1, b.stderr);
    assert.match(
      b.stderr,
      new RegExp(
        `\\[emerg\\] .*bind\\(\\) to 127\\.0\\.0\\.1:${port} failed \\(98: Address already in use\\) ` +
          `for "listen 127\\.0\\.0\\.1:${port}" in .*b\\.conf:5`,
      ),
    );
    // every client still meets the first server
    for (let i = 0; i < 6; i++) assert.equal(await exchange({ port }, "x\n"), "first\n");
    a.kill("SIGTERM");
    assert.equal((await exited(a)).code, 0);
  },
});
