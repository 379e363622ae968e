/**
 * nginx's signals on the CLI: SIGTERM/SIGINT fast, SIGQUIT graceful (capped by
 * worker_shutdown_timeout), SIGHUP reload (good and bad configs, no refused connection).
 */
import assert from "node:assert/strict";
import { CliProcess, exchange, oneServer, talk, TempDir } from "./cli_harness.ts";

const decoder = new TextDecoder();

/** Reads from `conn` until `want` has arrived (or EOF); returns what was read. */
async function readUntil(conn: Deno.Conn, want: string): Promise<string> {
  let got = "";
  const buf = new Uint8Array(1024);
  while (!got.includes(want)) {
    const n = await conn.read(buf);
    if (n === null) break;
    got += decoder.decode(buf.subarray(0, n));
  }
  return got;
}

/** Reads until EOF or a reset; returns what arrived. */
async function drain(conn: Deno.Conn): Promise<string> {
  let got = "";
  const buf = new Uint8Array(1024);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      got += decoder.decode(buf.subarray(0, n));
    }
  } catch { /* a reset is an acceptable end of a fast shutdown */ }
  conn.close();
  return got;
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal} closes connections in flight and exits 0 within a second`, async () => {
    using dir = new TempDir();
    const conf = dir.write(
      "a.conf",
      oneServer("echo before; echo_flush_wait; echo_sleep 30; echo after;"),
    );
    await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
    const port = await p.port();
    const conn = await Deno.connect({ port });
    assert.equal(await readUntil(conn, "before\n"), "before\n");
    const t0 = performance.now();
    p.kill(signal);
    const status = await p.exited();
    const ms = performance.now() - t0;
    assert.equal(status.code, 0);
    assert.ok(ms < 1000, `exited after ${ms.toFixed(0)} ms`);
    assert.equal(await drain(conn), "", "the session was cut, 'after' never sent");
    assert.match(p.stderr, new RegExp(`signal ${signal} received, exiting`));
  });
}

Deno.test("SIGQUIT stops accepting, lets sessions finish, then exits 0", async () => {
  using dir = new TempDir();
  const conf = dir.write(
    "a.conf",
    oneServer("echo before; echo_flush_wait; echo_sleep 0.4; echo after;"),
  );
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  const port = await p.port();
  const conn = await Deno.connect({ port });
  assert.equal(await readUntil(conn, "before\n"), "before\n");
  const t0 = performance.now();
  p.kill("SIGQUIT");
  await p.waitFor(/gracefully shutting down/);
  await assert.rejects(async () => {
    // the listener is closed: a new client is refused
    for (let i = 0; i < 50; i++) {
      (await Deno.connect({ port })).close();
      await new Promise((r) => setTimeout(r, 10));
    }
  }, Deno.errors.ConnectionRefused);
  assert.equal(await talk(conn), "after\n");
  const status = await p.exited();
  const ms = performance.now() - t0;
  assert.equal(status.code, 0);
  assert.ok(ms >= 300 && ms < 3000, `graceful exit took ${ms.toFixed(0)} ms`);
});

Deno.test("SIGQUIT is capped by worker_shutdown_timeout", async () => {
  using dir = new TempDir();
  const conf = dir.write(
    "a.conf",
    "worker_shutdown_timeout 200ms;\n" +
      oneServer("echo before; echo_flush_wait; echo_sleep 30; echo after;"),
  );
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  const port = await p.port();
  const conn = await Deno.connect({ port });
  await readUntil(conn, "before\n");
  const t0 = performance.now();
  p.kill("SIGQUIT");
  const status = await p.exited();
  const ms = performance.now() - t0;
  assert.equal(status.code, 0);
  assert.ok(ms >= 150 && ms < 1500, `capped graceful exit took ${ms.toFixed(0)} ms`);
  assert.equal(await drain(conn), "");
  assert.match(p.stderr, /worker_shutdown_timeout expired: closing 1 session/);
});

Deno.test("SIGHUP changes one server's reply while a client of the old config is connected", async () => {
  using dir = new TempDir();
  const body = (reply: string) =>
    `stream {
    server { listen 127.0.0.1:0; echo_read_line; echo ${reply}; }
    server { listen 127.0.0.1:0; echo same; }
}
`;
  const conf = dir.write("a.conf", body("old"));
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  const [first, second] = await p.listening(2);
  const port = Number(first.split(":")[1]);
  const early = await Deno.connect({ port });
  await new Promise((r) => setTimeout(r, 50)); // let the server accept it under the old config
  dir.write("a.conf", body("new"));
  p.kill("SIGHUP");
  await p.waitFor(/configuration reloaded/);
  const after = await p.listening(4);
  assert.deepEqual(after.slice(2), [first, second], "unchanged listeners keep their ports");
  assert.equal(await exchange({ port }, "x\n"), "new\n");
  assert.equal(await talk(early, "x\n"), "old\n", "the session in flight keeps its config");
  assert.equal(await exchange({ port: Number(second.split(":")[1]) }), "same\n");
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
});

Deno.test("SIGHUP with a bad config logs the error with file:line and keeps serving", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer("echo still;"));
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  const port = await p.port();
  dir.write("a.conf", oneServer("echo_sleep;"));
  p.kill("SIGHUP");
  await p.waitFor(/reload failed: still serving the previous configuration/);
  assert.match(p.stderr, new RegExp(`\\[emerg\\] .*"echo_sleep".* in ${conf}:4`));
  assert.equal(await exchange({ port }), "still\n");
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
});

Deno.test("SIGHUP to a config that includes /dev/zero logs the error and keeps serving", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer("echo still;"));
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  const port = await p.port();
  dir.write("a.conf", `include /dev/zero;\n${oneServer("echo new;")}`);
  const t0 = performance.now();
  p.kill("SIGHUP");
  await p.waitFor(/reload failed: still serving the previous configuration/, 5_000);
  assert.ok(performance.now() - t0 < 5_000);
  assert.match(
    p.stderr,
    new RegExp(
      `\\[emerg\\] .*"/dev/zero" is not a regular file \\(a character device\\) in ${conf}:1`,
    ),
  );
  assert.equal(await exchange({ port }), "still\n");
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
});

Deno.test("SIGHUP opens added listeners and closes removed ones", async () => {
  using dir = new TempDir();
  using probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const fixed = probe.addr.port;
  probe.close();
  const conf = dir.write("a.conf", oneServer("echo a;", `listen 127.0.0.1:${fixed};`));
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  await p.listening(1);
  const sock = dir.file("b.sock");
  dir.write("a.conf", oneServer("echo b;", `listen unix:${sock};`));
  p.kill("SIGHUP");
  await p.waitFor(/configuration reloaded/);
  assert.equal(await exchange({ transport: "unix", path: sock }), "b\n");
  await assert.rejects(() => Deno.connect({ port: fixed }), Deno.errors.ConnectionRefused);
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
  assert.throws(() => Deno.statSync(sock), Deno.errors.NotFound, "socket file removed at exit");
});

Deno.test("no connection is refused while SIGHUP reloads run", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer("echo r0;"));
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  const port = await p.port();
  let stop = false;
  let served = 0;
  const client = (async () => {
    while (!stop) {
      const reply = await exchange({ port });
      assert.match(reply, /^r\d\n$/);
      served++;
    }
  })();
  const servedBy = async (n: number) => {
    while (served < n) await new Promise((r) => setTimeout(r, 5));
  };
  for (let i = 1; i <= 5; i++) {
    await servedBy(served + 2);
    dir.write("a.conf", oneServer(`echo r${i};`));
    p.kill("SIGHUP");
    await p.waitUntil(
      () => (p.stderr.match(/configuration reloaded/g) ?? []).length >= i,
      `reload ${i}`,
    );
  }
  await servedBy(served + 2);
  stop = true;
  await client;
  assert.ok(served >= 12, `served ${served} connections across 5 reloads`);
  assert.equal(await exchange({ port }), "r5\n");
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
});

Deno.test("SIGUSR1 reopens the error log file after it was moved away", async () => {
  using dir = new TempDir();
  const log = dir.file("error.log");
  const sock = dir.file("s.sock");
  const conf = dir.write("a.conf", oneServer("echo hi;", `listen unix:${sock};`));
  await using p = new CliProcess(["serve", "-c", conf, "--error-log", log], { cwd: dir.path });
  const read = (path: string) => {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return "";
    }
  };
  const until = async (ok: () => boolean) => {
    for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ok());
  };
  await until(() => read(log).includes("stream-echo started"));
  Deno.renameSync(log, `${log}.1`);
  p.kill("SIGUSR1");
  await until(() => read(log).includes("logs reopened"));
  assert.equal(await exchange({ transport: "unix", path: sock }), "hi\n");
  await until(() => /client unix: connected/.test(read(log)));
  assert.match(read(`${log}.1`), /signal SIGUSR1 received, reopening logs/);
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
});

/**
 * True when the V8 inspector listening on 127.0.0.1:`port` is process `pid`'s (its targets are
 * titled `deno - main [pid: N]`); false when nothing listens there or another process does.
 */
async function inspectorOf(pid: number, port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/json/list`, {
      signal: AbortSignal.timeout(2000),
    });
    const targets = await res.json() as { title?: string }[];
    return targets.some((t) => t.title?.includes(`[pid: ${pid}]`));
  } catch {
    return false; // refused: no inspector there
  }
}

Deno.test({
  name: "SIGUSR1 (a log rotation) leaves no V8 inspector listening on 127.0.0.1:9229",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    using dir = new TempDir();
    const conf = dir.write("a.conf", oneServer("echo hi;"));
    await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
    await p.port();
    // Deno arms its own SIGUSR1 handler (which opens the inspector) 500 ms after start.
    await new Promise((r) => setTimeout(r, 700));
    p.kill("SIGUSR1");
    await p.waitFor(/logs reopened/);
    await new Promise((r) => setTimeout(r, 1000)); // the inspector would be open by now
    assert.equal(
      await inspectorOf(p.pid, 9229),
      false,
      "a debugger port stayed open after SIGUSR1",
    );
    p.kill("SIGTERM");
    assert.equal((await p.exited()).code, 0);
  },
});

Deno.test({
  name:
    "--log-format json with --error-log FILE: the file stays one JSON object per line across SIGUSR1",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    using dir = new TempDir();
    const conf = dir.write("a.conf", oneServer("echo hi;"));
    const log = dir.file("error.json");
    const read = (path: string) => {
      try {
        return Deno.readTextFileSync(path);
      } catch {
        return "";
      }
    };
    await using p = new CliProcess(
      ["serve", "-c", conf, "--log-format", "json", "--error-log", log],
      { cwd: dir.path },
    );
    const deadline = Date.now() + 10_000;
    while (!read(log).includes("started with")) {
      if (Date.now() > deadline) throw new Error(`not started: ${read(log)}${p.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // Past Deno's half-second grace: its own SIGUSR1 handler (the inspector) answers too, and
    // prints its lines on stderr, never into the error log file.
    await new Promise((r) => setTimeout(r, 700));
    p.kill("SIGUSR1");
    while (!read(log).includes("logs reopened")) {
      if (Date.now() > deadline) throw new Error(`not reopened: ${read(log)}${p.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 300));
    p.kill("SIGTERM");
    assert.equal((await p.exited()).code, 0);
    const lines = read(log).split("\n").filter((l) => l !== "");
    for (const line of lines) assert.equal(typeof JSON.parse(line).message, "string", line);
    assert.ok(lines.some((l) => JSON.parse(l).message === "logs reopened"));
  },
});

Deno.test("SIGQUIT with an echo_sleep 3600 session says what it waits for; SIGTERM then ends it", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer("echo before; echo_flush_wait; echo_sleep 3600;"));
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  const port = await p.port();
  const conn = await Deno.connect({ port });
  assert.equal(await readUntil(conn, "before\n"), "before\n");
  p.kill("SIGQUIT");
  await p.waitFor(/\[notice\] \d+#0: waiting for 1 session to finish\n/);
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
  assert.equal(await drain(conn), "");
  assert.match(p.stderr, /gracefully shutting down\n.*waiting for 1 session to finish\n/s);
});
