/**
 * The command line itself: help, version, usage errors and their exit codes, spawned as a user
 * would run them.
 */
import assert from "node:assert/strict";
import { runCli, TempDir } from "./cli_harness.ts";

const cases: { args: string[]; code: number; stdout?: RegExp; stderr?: RegExp }[] = [
  { args: ["--version"], code: 0, stdout: /^stream-echo \d+\.\d+\.\d+ \(deno / },
  { args: ["-v"], code: 0, stdout: /^stream-echo \d+\.\d+\.\d+/ },
  { args: ["version"], code: 0, stdout: /^stream-echo \d+\.\d+\.\d+/ },
  { args: ["--help"], code: 0, stdout: /^Usage: stream-echo <command>/ },
  { args: ["-h"], code: 0, stdout: /Commands:/ },
  { args: ["help"], code: 0, stdout: /Exit codes: 0 ok, 1 config or runtime failure, 2 usage/ },
  { args: ["help", "serve"], code: 0, stdout: /SIGQUIT\s+graceful shutdown/ },
  { args: ["help", "check"], code: 0, stdout: /test is successful/ },
  { args: ["help", "help"], code: 0, stdout: /^Usage: stream-echo help/ },
  { args: ["help", "version"], code: 0, stdout: /^Usage: stream-echo version/ },
  { args: [], code: 2, stderr: /no command given[^]*Usage: stream-echo/ },
  { args: ["bogus"], code: 2, stderr: /unknown command "bogus"[^]*Usage:/ },
  { args: ["serve", "--bogus"], code: 2, stderr: /unknown flag "--bogus"[^]*Usage:/ },
  { args: ["-x"], code: 2, stderr: /unknown flag "-x"/ },
  { args: ["serve", "--config"], code: 2, stderr: /flag "--config" needs a value/ },
  { args: ["serve", "--log-level", "loud"], code: 2, stderr: /invalid log level "loud"/ },
  { args: ["check", "--pid", "x.pid"], code: 2, stderr: /"--pid" is not valid for "check"/ },
  { args: ["help", "bogus"], code: 2, stderr: /unknown command "bogus"/ },
  { args: ["serve", "extra"], code: 2, stderr: /unexpected argument "extra"/ },
  { args: ["serve", "-t"], code: 2, stderr: /-t cannot be combined with "serve"/ },
];

for (const c of cases) {
  Deno.test(`stream-echo ${c.args.join(" ") || "(nothing)"} exits ${c.code}`, async () => {
    using dir = new TempDir();
    const r = await runCli(c.args, dir.path);
    assert.equal(r.code, c.code, `stderr: ${r.stderr}`);
    if (c.stdout) assert.match(r.stdout, c.stdout);
    if (c.stderr) assert.match(r.stderr, c.stderr);
    if (c.code === 2) assert.equal(r.stdout, "", "usage errors print to stderr only");
    if (c.code === 0) assert.ok(!r.stderr.includes("error"), r.stderr);
  });
}

Deno.test("every command has a help page that names it", async () => {
  using dir = new TempDir();
  for (const command of ["serve", "check", "help", "version"]) {
    const r = await runCli(["help", command], dir.path);
    assert.equal(r.code, 0);
    assert.ok(r.stdout.includes(`stream-echo ${command}`), r.stdout);
  }
});
