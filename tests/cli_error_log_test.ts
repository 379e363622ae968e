/** The CLI's error log choices and sinks, and the pid file. */
import assert from "node:assert/strict";
import {
  chooseTargets,
  ErrorLogOpenError,
  openErrorLogs,
  SwitchableLogger,
  writeAllSync,
} from "../src/cli/error_log.ts";
import { writePidFile } from "../src/cli/pid_file.ts";
import { createLogger } from "../src/log/logger.ts";
import type { ErrorLogTarget } from "../src/config/types.ts";

const pos = { file: "se.conf", line: 2 };
const cfg: ErrorLogTarget[] = [
  { target: "/var/log/a.log", level: "warn", pos },
  { target: "stderr", level: "error", pos },
];

Deno.test("chooseTargets: flag target wins, config next, stderr at info last; --log-level applies to all", () => {
  assert.deepEqual(chooseTargets([], {}), [{ target: "stderr", level: "info" }]);
  assert.deepEqual(chooseTargets(cfg, {}), cfg.map((t) => ({ ...t })));
  assert.deepEqual(chooseTargets(cfg, { errorLog: "x.log" }), [{ target: "x.log", level: "warn" }]);
  assert.deepEqual(chooseTargets([], { errorLog: "stderr", logLevel: "debug" }), [
    { target: "stderr", level: "debug" },
  ]);
  assert.deepEqual(chooseTargets(cfg, { logLevel: "notice" }).map((t) => t.level), [
    "notice",
    "notice",
  ]);
});

Deno.test("openErrorLogs writes each target at its level and names the directive when a file fails", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const lines: string[] = [];
    const logs = openErrorLogs([
      { target: `${dir}/a.log`, level: "warn" },
      { target: "stderr", level: "info" },
    ], (l) => lines.push(l));
    assert.ok(logs.toStderr);
    logs.logger.log("info", "chatty");
    logs.logger.log("error", "bad");
    await logs.close();
    assert.equal(lines.length, 2);
    const file = Deno.readTextFileSync(`${dir}/a.log`);
    assert.match(file, /\[error\] \d+#0: bad\n$/);
    assert.doesNotMatch(file, /chatty/);
    assert.throws(
      () => openErrorLogs([{ target: `${dir}/no/such/b.log`, level: "info", pos }], () => {}),
      (e: unknown) => {
        assert.ok(e instanceof ErrorLogOpenError);
        assert.match(e.message, /open\(\) ".*b\.log" failed \(.+\) for "error_log" in se\.conf:2/);
        return true;
      },
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("writeAllSync continues after short writes and swallows a failing writer", () => {
  const got: number[] = [];
  writeAllSync({
    writeSync(p: Uint8Array) {
      got.push(p[0]);
      return 1; // one byte at a time
    },
  }, "abc");
  assert.deepEqual(got, [97, 98, 99]);
  const failure = writeAllSync({
    writeSync(): number {
      throw new Error("EPIPE");
    },
  }, "x");
  assert.equal((failure as Error).message, "EPIPE");
});

Deno.test("an error_log file on a full disk says so on stderr once, and logging goes on", async () => {
  try {
    Deno.statSync("/dev/full");
  } catch {
    return; // not Linux
  }
  const errs: string[] = [];
  const logs = openErrorLogs([{ target: "/dev/full", level: "info" }], (l) => errs.push(l));
  try {
    logs.logger.log("error", "first");
    await logs.flush();
    logs.logger.log("error", "second");
  } finally {
    await logs.close();
  }
  assert.equal(errs.length, 1);
  assert.match(
    errs[0],
    /\[alert\] \d+#0: write\(\) to error_log "\/dev\/full" failed \(No space left on device\): its lines are lost/,
  );
});

Deno.test("SwitchableLogger sends lines to whichever logger is current", () => {
  const a: string[] = [];
  const b: string[] = [];
  const log = new SwitchableLogger(createLogger((l) => a.push(l), { level: "info" }));
  log.log("info", "one");
  log.current = createLogger((l) => b.push(l), { level: "error" });
  assert.ok(!log.enabled("info"));
  log.log("error", "two");
  assert.equal(a.length, 1);
  assert.equal(b.length, 1);
});

Deno.test("the pid file holds the pid and is removed only while it still does", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/se.pid`;
    const pid = writePidFile(path, { pid: 4242 });
    assert.equal(Deno.readTextFileSync(path), "4242\n");
    pid.remove();
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
    const other = writePidFile(path, { pid: 1 });
    Deno.writeTextFileSync(path, "999\n"); // another process took it over
    other.remove();
    assert.equal(Deno.readTextFileSync(path), "999\n");
    assert.throws(() => writePidFile(`${dir}/no/x.pid`, { pos }), /for "pid" in se\.conf:2/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
