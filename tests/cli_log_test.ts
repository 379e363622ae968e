/**
 * The CLI's error log never blocks: every line arrives in normal operation, and a stderr pipe
 * nobody reads does not slow the server down.
 */
import assert from "node:assert/strict";
import { cliCommand, CliProcess, exchange, oneServer, TempDir } from "./cli_harness.ts";

const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

for (const where of ["stderr", "file"] as const) {
  Deno.test(`many log lines then SIGTERM: every line is in the error log (${where})`, async () => {
    using dir = new TempDir();
    const conf = dir.write("a.conf", oneServer("echo hi;"));
    const log = dir.file("error.log");
    const args = ["serve", "-c", conf, ...(where === "file" ? ["--error-log", log] : [])];
    await using p = new CliProcess(args, { cwd: dir.path });
    let port: number;
    if (where === "stderr") {
      port = await p.port();
    } else {
      let text = "";
      for (let i = 0; i < 500 && !/listening on \S+:(\d+)/.test(text); i++) {
        await new Promise((r) => setTimeout(r, 10));
        try {
          text = Deno.readTextFileSync(log);
        } catch { /* not yet */ }
      }
      port = Number(/listening on \S+:(\d+)/.exec(text)![1]);
    }
    const n = 300;
    for (let i = 0; i < n; i++) assert.equal(await exchange({ port }), "hi\n");
    p.kill("SIGTERM");
    assert.equal((await p.exited()).code, 0);
    const text = where === "stderr" ? p.stderr : Deno.readTextFileSync(log);
    assert.equal(count(text, /\] \d+#0: \*\d+ client \S+ connected to/g), n);
    assert.match(text, /\[notice\] \d+#0: exit\n$/, "the last line is written before exit");
  });
}

Deno.test("a stderr pipe nobody reads does not slow the server, and its lines arrive once it drains", async () => {
  using dir = new TempDir();
  const conf = dir.write("a.conf", oneServer("echo hi;"));
  const [cmd, ...pre] = cliCommand();
  const child = new Deno.Command(cmd, {
    args: [...pre, "serve", "-c", conf],
    cwd: dir.path,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    // Read stderr until the server is up, then stop reading: the pipe (64 KiB) fills up.
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let head = "";
    while (!/stream-echo started/.test(head)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`exited early: ${head}`);
      head += value;
    }
    const port = Number(/listening on \S+:(\d+)/.exec(head)![1]);
    const n = 1000; // ~110 bytes of log each: well past what the pipe holds
    let slowest = 0;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      assert.equal(await exchange({ port }), "hi\n");
      slowest = Math.max(slowest, performance.now() - t0);
    }
    assert.ok(slowest < 1000, `slowest exchange took ${slowest.toFixed(0)} ms`);
    child.kill("SIGTERM");
    let rest = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += value;
    }
    assert.equal((await child.status).code, 0);
    const all = head + rest;
    assert.equal(count(all, / client \S+ connected to/g), n, "nothing lost: the buffer held it");
    assert.match(all, /exit\n$/);
  } finally {
    clearTimeout(killer);
  }
});
