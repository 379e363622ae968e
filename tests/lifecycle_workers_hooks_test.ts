/**
 * Hooks across worker threads (tests/lifecycle_workers_fixture.ts as the entry module): the main
 * thread's observer hears of every worker's ended sessions, with the server block they ran
 * under; each worker runs its own `wrap`/`prepare`/`reopen`/`exiting`; a worker-side hook can
 * stop the whole process.
 */
import assert from "node:assert/strict";
import { CliProcess, exchange, exitedWithin as exited, TempDir } from "./cli_harness.ts";

const FIXTURE = new URL("./lifecycle_workers_fixture.ts", import.meta.url).pathname;

/** Runs the fixture (not the CLI): the harness's STREAM_ECHO_CMD is replaced for this process. */
function fixture(
  conf: string,
  cwd: string,
  env: { STOP_AFTER?: number; CRASH_AT?: number; CRASH_MARK?: string } = {},
): CliProcess {
  const saved = Deno.env.get("STREAM_ECHO_CMD");
  Deno.env.set("STREAM_ECHO_CMD", `${Deno.execPath()} run -A --unstable-net ${FIXTURE}`);
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, String(v));
  try {
    return new CliProcess([conf], { cwd });
  } finally {
    if (saved === undefined) Deno.env.delete("STREAM_ECHO_CMD");
    else Deno.env.set("STREAM_ECHO_CMD", saved);
    for (const k of Object.keys(env)) Deno.env.delete(k);
  }
}

const config = (reply: string) =>
  `worker_processes 2;\nstream { server { listen 127.0.0.1:0; echo ${reply}; } }\n`;

Deno.test({
  name: "the main thread's observer hears of every session, each worker runs its own hooks",
  ignore: Deno.build.os !== "linux",
  async fn() {
    using dir = new TempDir();
    const conf = dir.write("a.conf", config("one"));
    await using p = fixture(conf, dir.path);
    const port = await p.port();
    await p.waitFor(/2 workers/);
    for (let i = 0; i < 30; i++) assert.equal(await exchange({ port }), "one\n");
    dir.write("a.conf", config("two"));
    p.kill("SIGHUP");
    await p.waitFor(/fixture: worker reloaded/);
    for (let i = 0; i < 30; i++) assert.equal(await exchange({ port }), "two\n");
    p.kill("SIGUSR1");
    await p.waitFor(/fixture: worker reopen/);
    p.kill("SIGQUIT");
    assert.equal((await exited(p)).code, 0);
    assert.doesNotMatch(p.stderr, /Debugger listening/);
    assert.match(p.stderr, /fixture: main saw 60 ended\n/);
    // Sessions of worker 1 (the numbers it wrapped) come back with the server block of their
    // config.
    const mine = new Set(
      [...p.stderr.matchAll(/fixture: worker wrapped \*(\d+)\n/g)].map((m) => m[1]),
    );
    const worker1 = [
      ...p.stderr.matchAll(/fixture: ended \*(\d+) eof 4 bytes, reply "(\w+)\\n"/g),
    ].filter((m) => mine.has(m[1]));
    assert.ok(worker1.length > 0, "worker 1 served some sessions");
    assert.ok(worker1.some((m) => m[2] === "one") && worker1.some((m) => m[2] === "two"));
    assert.match(p.stderr, /fixture: worker prepare 1\n/);
    const wrapped = Number(/fixture: worker exiting after (\d+) wrapped/.exec(p.stderr)?.[1]);
    assert.equal(wrapped, worker1.length, "worker 1 wrapped its own sessions");
  },
});

Deno.test({
  name: "a worker-side hook can stop the whole process",
  ignore: Deno.build.os !== "linux",
  async fn() {
    using dir = new TempDir();
    const conf = dir.write("a.conf", config("one"));
    await using p = fixture(conf, dir.path, { STOP_AFTER: 2 });
    const port = await p.port();
    await p.waitFor(/2 workers/);
    let served = 0;
    while (!/worker asked to stop after 2/.test(p.stderr) && served < 200) {
      await exchange({ port }).catch(() => "");
      served++;
    }
    assert.equal((await exited(p)).code, 0);
    assert.match(p.stderr, /\[notice\] \d+#0: worker asked to stop after 2\n/);
  },
});

Deno.test({
  name: "a worker thread that dies is restarted with the current config, and serving goes on",
  ignore: Deno.build.os !== "linux",
  async fn() {
    using dir = new TempDir();
    const conf = dir.write("a.conf", config("one"));
    await using p = fixture(conf, dir.path, { CRASH_AT: 3, CRASH_MARK: dir.file("crashed") });
    const port = await p.port();
    await p.waitFor(/2 workers/);
    dir.write("a.conf", config("two"));
    p.kill("SIGHUP");
    await p.waitFor(/configuration reloaded/);
    // Sessions the dying worker held (or had not accepted yet) are lost: "" or a reset.
    for (let i = 0; i < 200 && !/worker 1 restarted/.test(p.stderr); i++) {
      assert.match(await exchange({ port }).catch(() => ""), /^(two\n)?$/);
    }
    await p.waitFor(/\[notice\] \d+#0: worker 1 restarted\n/);
    assert.match(p.stderr, /\[alert\] \d+#0: worker 1 failed: .*fixture crash/);
    // The new worker 1 serves the reloaded config, taking connection numbers from the shared
    // counter: no number is used twice.
    for (let i = 0; i < 40; i++) assert.equal(await exchange({ port }), "two\n");
    p.kill("SIGQUIT");
    assert.equal((await exited(p)).code, 0);
    assert.match(p.stderr, /workers accepted \d+ \(worker 0\), [1-9]\d* \(worker 1\) connections/);
    const numbers = [...p.stderr.matchAll(/\*(\d+) client \S+ connected/g)].map((m) => m[1]);
    assert.ok(numbers.length >= 40, `${numbers.length} sessions logged`);
    assert.equal(new Set(numbers).size, numbers.length, `a number used twice: ${numbers}`);
  },
});
