/** The lifecycle object, in process: start, reload, reopen, stop, hooks, pid file. */
import assert from "node:assert/strict";
import { Lifecycle, type LifecycleHooks } from "../src/lifecycle/lifecycle.ts";
import { signalTable } from "../src/lifecycle/signals.ts";
import { openSessionFile, SessionLogs } from "../src/log/session_logs.ts";
import { quietLogger } from "../src/log/logger.ts";
import { exchange, oneServer, TempDir } from "./cli_harness.ts";

/** A lifecycle over `conf` whose stderr is collected; `started` resolves with its addresses. */
function lifecycle(
  conf: string,
  extra: { pid?: string; errorLog?: string; hooks?: LifecycleHooks } = {},
) {
  let stderr = "";
  let started!: (addrs: Deno.Addr[]) => void;
  const up = new Promise<Deno.Addr[]>((r) => started = r);
  const events: string[] = [];
  const life = new Lifecycle({
    config: conf,
    pid: extra.pid,
    errorLog: extra.errorLog,
    stderr: (line) => stderr += line,
    hooks: {
      started: (addrs) => {
        events.push("started");
        started(addrs);
      },
      reloaded: (config) => void events.push(`reloaded ${config.servers.length}`),
      reopen: () => void events.push("reopen"),
      exiting: () => void events.push("exiting"),
      ...extra.hooks,
    },
  });
  return { life, up, events, stderr: () => stderr };
}

const portOf = (addr: Deno.Addr) => (addr as Deno.NetAddr).port;

Deno.test("a config that does not load: run() resolves to 1 with the [emerg] line, no hook runs", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer("echo_sleep;"));
  const t = lifecycle(conf);
  assert.equal(await t.life.run(), 1);
  assert.match(t.stderr(), /\[emerg\] .*"echo_sleep".* in .*a\.conf:4/);
  assert.deepEqual(t.events, []);
});

Deno.test("start, serve, graceful stop: hooks in order, pid file written then removed, exit line last", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer("echo hi;"));
  const pid = dir.file("se.pid");
  const t = lifecycle(conf, { pid });
  const code = t.life.run();
  const [addr] = await t.up;
  assert.equal(Deno.readTextFileSync(pid), `${Deno.pid}\n`);
  assert.equal(t.life.generation, 1);
  assert.equal(await exchange({ port: portOf(addr) }), "hi\n");
  t.life.stop("graceful", "stop requested by the test");
  assert.equal(await code, 0);
  assert.deepEqual(t.events, ["started", "exiting"]);
  assert.throws(() => Deno.statSync(pid), Deno.errors.NotFound);
  assert.match(t.stderr(), /\[notice\] \d+#0: stop requested by the test\n/);
  assert.match(t.stderr(), /\[notice\] \d+#0: exit\n$/);
});

Deno.test("reload: a good config is a new generation and keeps unchanged listeners; a bad one keeps the old", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer("echo one;"));
  const t = lifecycle(conf);
  const code = t.life.run();
  const [addr] = await t.up;
  dir.write("a.conf", oneServer("echo two;"));
  assert.equal(await t.life.reload(), true);
  assert.equal(t.life.generation, 2);
  assert.equal(portOf(t.life.addrs[0]), portOf(addr), "the listener stayed open");
  assert.equal(await exchange({ port: portOf(addr) }), "two\n");
  dir.write("a.conf", oneServer("echo_sleep;"));
  assert.equal(await t.life.reload(), false);
  assert.equal(t.life.generation, 2);
  assert.equal(await exchange({ port: portOf(addr) }), "two\n");
  assert.match(t.stderr(), /reload failed: still serving the previous configuration/);
  t.life.stop("fast");
  assert.equal(await code, 0);
  assert.deepEqual(t.events, ["started", "reloaded 1", "exiting"]);
});

Deno.test("reopen: lines before it stay in the moved file, later ones go to the new one", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer("echo hi;"));
  const log = dir.file("error.log");
  const t = lifecycle(conf, { errorLog: log });
  const code = t.life.run();
  await t.up;
  Deno.renameSync(log, `${log}.1`);
  t.life.logger.log("notice", "before the reopen");
  assert.equal(await t.life.reopen(), true);
  t.life.logger.log("notice", "after the reopen");
  t.life.stop("fast");
  assert.equal(await code, 0);
  const old = Deno.readTextFileSync(`${log}.1`);
  const fresh = Deno.readTextFileSync(log);
  assert.match(old, /before the reopen\n.*signal SIGUSR1 received, reopening logs\n$/);
  assert.match(fresh, /logs reopened\n.*after the reopen\n/);
  assert.doesNotMatch(fresh, /before the reopen/);
  assert.deepEqual(t.events, ["started", "reopen", "exiting"]);
});

Deno.test("a stop requested while starting is applied once the listeners are bound", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer("echo hi;"));
  const t = lifecycle(conf);
  const code = t.life.run();
  t.life.stop("graceful");
  assert.equal(await code, 0);
  assert.deepEqual(t.events, ["started", "exiting"]);
});

Deno.test("a hook that throws is logged and the process goes on", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer("echo hi;"));
  const t = lifecycle(conf, {
    hooks: {
      exiting: () => {
        throw new Error("boom");
      },
    },
  });
  const code = t.life.run();
  await t.up;
  t.life.stop("fast");
  assert.equal(await code, 0);
  assert.match(t.stderr(), /\[alert\] \d+#0: lifecycle hook failed: boom/);
});

Deno.test("signalTable: nginx's signals on Unix, INT and BREAK on Windows", () => {
  const calls: string[] = [];
  const target = {
    stop: (how: string, sig: string) => void calls.push(`${how} ${sig}`),
    reload: () => void calls.push("reload"),
    reopen: () => void calls.push("reopen"),
  };
  for (const [, fn] of signalTable(target, "linux")) fn();
  assert.deepEqual(calls, [
    "fast SIGINT",
    "fast SIGTERM",
    "graceful SIGQUIT",
    "reload",
    "reopen",
  ]);
  assert.deepEqual(signalTable(target, "windows").map(([s]) => s), ["SIGINT", "SIGBREAK"]);
});

Deno.test({
  name: "a reload that fails after opening its log files closes them; the old ones keep working",
  async fn() {
    using dir = new TempDir();
    const oldLog = dir.file("old.log");
    const newLog = dir.file("new.log");
    const conf = dir.write("a.conf", oneServer(`echo hi; access_log ${oldLog};`));
    /** The session-log files open now (opened by the hooks and not closed yet). */
    const open = new Set<string>();
    const logs = new SessionLogs({
      logger: quietLogger,
      openSink(path, tuning) {
        const sink = openSessionFile(path, tuning, quietLogger);
        open.add(path);
        return {
          write: (text) => sink.write(text),
          flush: (ms) => sink.flush(ms),
          close: (ms) => (open.delete(path), sink.close(ms)),
        };
      },
    });
    const t = lifecycle(conf, {
      hooks: {
        observer: logs.observer,
        prepare: (config) => logs.open(config),
        abandoned: (config) => logs.abandon(config),
        reloaded: (config) => logs.retire(config),
        exiting: () => logs.close(),
      },
    });
    const life = t.life;
    const code = life.run();
    const [addr] = await t.up;
    using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    dir.write(
      "a.conf",
      oneServer(
        `echo hi; access_log ${oldLog}; access_log ${newLog}; } server {` +
          ` listen 127.0.0.1:${busy.addr.port}; echo two;`,
        `listen 127.0.0.1:${portOf(addr)};`,
      ),
    );
    assert.equal(await life.reload(), false);
    assert.match(t.stderr(), /Address already in use|in use/i);
    assert.match(t.stderr(), /reload failed/);
    assert.deepEqual([...open], [oldLog], "only the running config's file stays open");
    assert.equal(await exchange({ port: portOf(addr) }), "hi\n");
    life.stop("graceful", "done");
    assert.equal(await code, 0);
    assert.equal(Deno.readTextFileSync(oldLog).split("\n").filter(Boolean).length, 1);
    assert.deepEqual([...open], []);
  },
});
