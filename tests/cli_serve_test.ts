/**
 * `stream-echo serve`: start-up lines, the built-in default, config errors, listen errors, the
 * error log and pid file overrides.
 */
import assert from "node:assert/strict";
import { CliProcess, exchange, oneServer, portOf, runCli, TempDir } from "./cli_harness.ts";

Deno.test("serve logs one 'listening on' line per listener with the port actually bound", async () => {
  using dir = new TempDir();
  const conf = dir.write(
    "two.conf",
    `stream {
    server { listen 127.0.0.1:0; listen 127.0.0.1:0; echo one; }
    server { listen 127.0.0.1:0; echo two; }
}
`,
  );
  await using p = new CliProcess(["serve", "--config", conf], { cwd: dir.path });
  const addrs = await p.listening(3);
  for (const a of addrs) assert.match(a, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(portOf(addrs[0]), 0);
  assert.equal(new Set(addrs).size, 3);
  assert.match(
    p.stderr,
    new RegExp(`listening on ${addrs[2]} for "listen 127.0.0.1:0" in ${conf}:3`),
  );
  assert.equal(await exchange({ port: portOf(addrs[0]) }), "one\n");
  assert.equal(await exchange({ port: portOf(addrs[1]) }), "one\n");
  assert.equal(await exchange({ port: portOf(addrs[2]) }), "two\n");
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
});

Deno.test("serve logs each connection as nginx does, at info, and nothing at error", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer('echo "Hello, world!";'));
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  const port = await p.port();
  assert.equal(await exchange({ port }), "Hello, world!\n");
  await p.waitFor(/\[info\] \d+#0: \*1 client 127\.0\.0\.1:\d+ connected to 127\.0\.0\.1:\d+\n/);
  p.kill("SIGTERM");
  await p.exited();
  assert.doesNotMatch(p.stderr, /\[(error|crit|alert|emerg)\]/);
});

Deno.test("serve without --config serves the built-in 'Hello, world!' on 127.0.0.1:1234 and says so", async () => {
  using dir = new TempDir();
  let free = true;
  try {
    Deno.listen({ hostname: "127.0.0.1", port: 1234 }).close();
  } catch {
    free = false; // something else has the port: then the failure must name the directive
  }
  await using p = new CliProcess(["serve"], { cwd: dir.path });
  if (!free) {
    assert.equal((await p.exited()).code, 1);
    assert.match(p.stderr, /\[emerg\] .*"listen 127\.0\.0\.1:1234" in <built-in>:4/);
    return;
  }
  await p.waitFor(/serving the built-in default configuration/);
  assert.deepEqual(await p.listening(1), ["127.0.0.1:1234"]);
  assert.equal(
    await exchange({ port: 1234 }),
    "Hello, world!\nI really like doing downstream TCP\n",
  );
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
});

const configErrors: { name: string; body: string; stderr: RegExp }[] = [
  {
    name: "an unknown echo option",
    body: "echo -t hi;",
    stderr: /\[emerg\] .*?stream echo sees unknown option "-t" in "echo" in .*bad\.conf:4/,
  },
  {
    name: "a directive outside its context",
    body: "} echo -n; server {",
    stderr: /\[emerg\] \d+#0: "echo" directive is not allowed here in .*bad\.conf:4/,
  },
  {
    name: "an unknown directive",
    body: "ech hi;",
    stderr: /\[emerg\] .*unknown directive "ech" in .*bad\.conf:4/,
  },
];

for (const c of configErrors) {
  Deno.test(`serve logs ${c.name} as an nginx [emerg] line with file:line and exits 1`, async () => {
    using dir = new TempDir();
    const conf = dir.write("bad.conf", oneServer(c.body));
    const r = await runCli(["serve", "--config", conf], dir.path);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, c.stderr);
    assert.match(r.stderr, /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[emerg\] \d+#0: /);
  });
}

Deno.test("serve of a missing config file names the file and exits 1", async () => {
  using dir = new TempDir();
  const r = await runCli(["serve", "-c", "missing.conf"], dir.path);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /\[emerg\] .*open\(\) "\/[^"]*\/missing\.conf" failed \(No such file or directory\)/,
  );
});

Deno.test("a port in use names the listen directive and its file:line and exits 1", async () => {
  using dir = new TempDir();
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conf = dir.write(
    "busy.conf",
    oneServer("echo hi;", `listen 127.0.0.1:${taken.addr.port};`),
  );
  const r = await runCli(["serve", "-c", conf], dir.path);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(
      `\\[emerg\\] .*bind\\(\\) to 127\\.0\\.0\\.1:${taken.addr.port} failed \\(98: Address already in use\\) ` +
        `for "listen 127\\.0\\.0\\.1:${taken.addr.port}" in ${conf}:3`,
    ),
  );
});

Deno.test("an address that is not this host's names the listen directive and exits 1", async () => {
  using dir = new TempDir();
  const conf = dir.write("far.conf", oneServer("echo hi;", "listen 192.0.2.1:0;"));
  const r = await runCli(["serve", "-c", conf], dir.path);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`bind\\(\\) to 192\\.0\\.2\\.1:0 failed .* in ${conf}:3`));
});

Deno.test("two listen lines for one address are a config error naming the second", async () => {
  using dir = new TempDir();
  const conf = dir.write(
    "dup.conf",
    "stream {\n  server { listen 127.0.0.1:31999; echo a; }\n  server { listen 127.0.0.1:31999; echo b; }\n}\n",
  );
  const r = await runCli(["serve", "-c", conf], dir.path);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(`duplicate "127\\.0\\.0\\.1:31999" address and port pair.* in ${conf}:3`),
  );
});

Deno.test("--error-log FILE sends the log there and --log-level filters it", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer("echo hi;"));
  const log = dir.file("error.log");
  await using p = new CliProcess(["serve", "-c", conf, "--error-log", log], { cwd: dir.path });
  // The port is only in the log file now.
  let port = 0;
  for (let i = 0; i < 200 && port === 0; i++) {
    const m = safeRead(log).match(/listening on 127\.0\.0\.1:(\d+)/);
    if (m) port = Number(m[1]);
    else await new Promise((r) => setTimeout(r, 25));
  }
  assert.notEqual(port, 0, "the log file names the port");
  assert.equal(await exchange({ port }), "hi\n");
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
  assert.equal(p.stderr, "", "nothing goes to stderr");
  assert.match(safeRead(log), /\[info\] .* client 127\.0\.0\.1:\d+ connected/);
  assert.match(safeRead(log), /\[notice\] .* exit\n$/);

  const quiet = dir.file("quiet.log");
  const sock = dir.file("q.sock");
  const conf2 = dir.write("b.conf", oneServer("echo hi;", `listen unix:${sock};`));
  await using q = new CliProcess(
    ["serve", "-c", conf2, "--error-log", quiet, "--log-level", "warn"],
    { cwd: dir.path },
  );
  await waitForFile(sock);
  assert.equal(await exchange({ transport: "unix", path: sock }), "hi\n");
  q.kill("SIGTERM");
  assert.equal((await q.exited()).code, 0);
  assert.equal(safeRead(quiet), "", "info and notice lines are filtered out at warn");
});

Deno.test("error_log in the config is used, and a log file that cannot be opened is a startup error", async () => {
  using dir = new TempDir();
  const log = dir.file("cfg.log");
  const conf = dir.write("a.conf", `error_log ${log} info;\n` + oneServer("echo hi;"));
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  for (let i = 0; i < 200 && !/listening on/.test(safeRead(log)); i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.match(safeRead(log), /listening on 127\.0\.0\.1:\d+/);
  p.kill("SIGTERM");
  await p.exited();

  const badConf = dir.write(
    "b.conf",
    `error_log ${dir.path}/no/such/dir/x.log;\n` + oneServer("echo hi;"),
  );
  const r = await runCli(["serve", "-c", badConf], dir.path);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(
      `\\[emerg\\] .*open\\(\\) ".*/no/such/dir/x\\.log" failed .*"error_log" in ${badConf}:1`,
    ),
  );
  const r2 = await runCli(
    ["serve", "-c", conf, "--error-log", `${dir.path}/no/such/y.log`],
    dir.path,
  );
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /\[emerg\] .*open\(\) ".*\/no\/such\/y\.log" failed .*--error-log/);
});

Deno.test("the pid file holds the pid while serving and is removed at exit", async () => {
  using dir = new TempDir();
  const pidFile = dir.file("se.pid");
  const conf = dir.write("a.conf", oneServer("echo hi;"));
  await using p = new CliProcess(["serve", "-c", conf, "--pid", pidFile], { cwd: dir.path });
  await p.port();
  assert.equal(Deno.readTextFileSync(pidFile), `${p.pid}\n`);
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
  assert.throws(() => Deno.statSync(pidFile), Deno.errors.NotFound);

  const cfgPid = dir.file("cfg.pid");
  const conf2 = dir.write("b.conf", `pid ${cfgPid};\n` + oneServer("echo hi;"));
  await using q = new CliProcess(["serve", "-c", conf2], { cwd: dir.path });
  await q.port();
  assert.equal(Deno.readTextFileSync(cfgPid), `${q.pid}\n`);
  q.kill("SIGINT");
  assert.equal((await q.exited()).code, 0);
  assert.throws(() => Deno.statSync(cfgPid), Deno.errors.NotFound);

  const r = await runCli(["serve", "-c", conf, "--pid", `${dir.path}/no/dir/x.pid`], dir.path);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\[emerg\] .*open\(\) ".*\/no\/dir\/x\.pid" failed .*--pid/);
});

function safeRead(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      Deno.statSync(path);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`${path} never appeared`);
}
