/** `stream-echo check` and `stream-echo -t`: nginx's two lines and exit codes. */
import assert from "node:assert/strict";
import { oneServer, runCli, TempDir } from "./cli_harness.ts";

Deno.test("check prints nginx's 'syntax is ok' and 'test is successful' lines and exits 0", async () => {
  using dir = new TempDir();
  const conf = dir.write("ok.conf", oneServer('echo "hi";'));
  for (const args of [["check", "--config", conf], ["-t", "-c", conf], ["-tc", conf]]) {
    const r = await runCli(args, dir.path);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      `stream-echo: the configuration file ${conf} syntax is ok\n` +
        `stream-echo: configuration file ${conf} test is successful\n`,
    );
  }
});

Deno.test("check names the error with file:line, says the test failed and exits 1", async () => {
  using dir = new TempDir();
  const conf = dir.write("bad.conf", oneServer("ech hi;"));
  const r = await runCli(["-t", "-c", conf], dir.path);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(`\\[emerg\\] unknown directive "ech" in ${conf}:4, did you mean "echo"\\?\\n`),
  );
  assert.match(r.stderr, new RegExp(`configuration file ${conf} test failed\\n$`));
});

Deno.test("check of a missing file is an error naming the file", async () => {
  using dir = new TempDir();
  const r = await runCli(["check", "-c", "nope.conf"], dir.path);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /open\(\) "\/[^"]*\/nope\.conf" failed \(No such file or directory\)/);
});

Deno.test("check -q prints nothing on success and only errors on failure", async () => {
  using dir = new TempDir();
  const ok = dir.write("ok.conf", oneServer('echo "hi";'));
  const good = await runCli(["-t", "-q", "-c", ok], dir.path);
  assert.equal(good.code, 0);
  assert.equal(good.stderr, "");
  const bad = dir.write("bad.conf", oneServer("echo_sleep;"));
  const r = await runCli(["check", "-q", "-c", bad], dir.path);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\[emerg\] .* in .*bad\.conf:4/);
});

Deno.test("check without a config checks the built-in default", async () => {
  using dir = new TempDir();
  const r = await runCli(["check"], dir.path);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /the configuration file <built-in> syntax is ok/);
});

Deno.test("check reports a missing certificate file as a config error with file:line", async () => {
  using dir = new TempDir();
  const conf = dir.write(
    "tls.conf",
    oneServer(
      "ssl_certificate missing.crt; ssl_certificate_key missing.key; echo hi;",
      "listen 127.0.0.1:0 ssl;",
    ),
  );
  const r = await runCli(["check", "-c", conf], dir.path);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`missing\\.crt.* in ${conf}:4`));
});

Deno.test("check of a directory says it is a directory, with no line number", async () => {
  using dir = new TempDir();
  Deno.mkdirSync(dir.file("conf.d"));
  const r = await runCli(["check", "-c", "conf.d"], dir.path);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\[emerg\] "\/[^"]*\/conf\.d" is a directory, not a file\n/);
  assert.doesNotMatch(r.stderr, /:1\n/);
});

Deno.test("check of a config including /dev/zero, /dev/urandom or a FIFO fails at once with file:line", async () => {
  using dir = new TempDir();
  const fifo = dir.file("fifo");
  assert.equal(new Deno.Command("mkfifo", { args: [fifo] }).outputSync().code, 0);
  for (
    const [target, kind] of [["/dev/zero", "a character device"], [
      "/dev/urandom",
      "a character device",
    ], [fifo, "a FIFO"]]
  ) {
    const conf = dir.write("inc.conf", `events {}\ninclude ${target};\n`);
    const t0 = performance.now();
    const r = await runCli(["check", "-c", conf], dir.path);
    const ms = performance.now() - t0;
    assert.equal(r.code, 1);
    assert.ok(
      r.stderr.includes(`[emerg] "${target}" is not a regular file (${kind}) in ${conf}:2\n`),
      r.stderr,
    );
    assert.ok(ms < 10_000, `check took ${ms.toFixed(0)} ms`);
  }
});

Deno.test("check of /dev/zero as the main config fails at once, saying what it is", async () => {
  using dir = new TempDir();
  const r = await runCli(["check", "-c", "/dev/zero"], dir.path);
  assert.equal(r.code, 1);
  assert.ok(
    r.stderr.includes('[emerg] "/dev/zero" is not a regular file (a character device)\n'),
    r.stderr,
  );
});

Deno.test("check opens the log files the config names, as serve and nginx -t do: one that cannot be opened fails the test", async () => {
  using dir = new TempDir();
  const cases = [
    { line: "error_log nodir/e.log;", what: "error_log", at: 1, ok: "error_log e.log;" },
    {
      line: "stream { access_log nodir/a.log; server { listen 127.0.0.1:0; echo hi; } }",
      what: "access_log",
      at: 1,
      ok: "stream { access_log a.log; server { listen 127.0.0.1:0; echo hi; } }",
    },
    {
      line: "stream { server { listen 127.0.0.1:0; echo_record nodir/r.jsonl; echo hi; } }",
      what: "echo_record",
      at: 1,
      ok: "stream { server { listen 127.0.0.1:0; echo_record r.jsonl; echo hi; } }",
    },
  ];
  for (const c of cases) {
    const withStream = c.line.startsWith("stream") ? c.line : `${c.line}\n${oneServer("echo hi;")}`;
    const bad = dir.write(`bad_${c.what}.conf`, withStream);
    const r = await runCli(["check", "-c", bad], dir.path);
    assert.equal(r.code, 1, `${c.what}: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(
        `\\[emerg\\] open\\(\\) "${dir.path}/nodir/[a-z.]+" failed \\(No such file or directory\\) ` +
          `for "${c.what}" in ${bad}:${c.at}\\n`,
      ),
    );
    assert.match(r.stderr, /test failed\n$/);
    const okText = c.ok.startsWith("stream") ? c.ok : `${c.ok}\n${oneServer("echo hi;")}`;
    const good = await runCli(["check", "-c", dir.write(`ok_${c.what}.conf`, okText)], dir.path);
    assert.equal(good.code, 0, `${c.what}: ${good.stderr}`);
  }
});

Deno.test("check opens every access_log and echo_record file, also at a stream level no server uses", async () => {
  using dir = new TempDir();
  const cases = [
    { what: "access_log", line: 2, text: "stream {\n  access_log nodir/x.log;\n}\n" },
    { what: "echo_record", line: 2, text: "stream {\n  echo_record nodir/r.jsonl;\n}\n" },
    {
      // Every server has its own access_log: the stream level's is still opened.
      what: "access_log",
      line: 3,
      text: "stream {\n  log_format f $status;\n  access_log nodir/s.log f;\n" +
        "  server { listen 127.0.0.1:0; access_log a.log; echo hi; }\n}\n",
    },
  ];
  for (const [i, c] of cases.entries()) {
    const bad = dir.write(`bad${i}.conf`, c.text);
    const r = await runCli(["check", "-c", bad], dir.path);
    assert.equal(r.code, 1, `${c.text}: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(
        `\\[emerg\\] open\\(\\) "${dir.path}/nodir/[a-z.]+" failed \\(No such file or directory\\) ` +
          `for "${c.what}" in ${bad}:${c.line}\\n`,
      ),
    );
  }
  // Where it can be opened, it is created empty, as nginx -t does.
  const good = dir.write("good.conf", "stream {\n  access_log x.log;\n  echo_record r.jsonl;\n}\n");
  const r = await runCli(["check", "-c", good], dir.path);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(Deno.readTextFileSync(dir.file("x.log")), "");
  assert.equal(Deno.readTextFileSync(dir.file("r.jsonl")), "");
});

Deno.test("check rejects log_format with an escape mode and no string, naming file:line", async () => {
  using dir = new TempDir();
  const bad = dir.write("bad.conf", "stream {\n  log_format f escape=json;\n}\n");
  const r = await runCli(["check", "-c", bad], dir.path);
  assert.equal(r.code, 1);
  assert.ok(
    r.stderr.includes(
      `[emerg] invalid number of arguments in "log_format" directive in ${bad}:2\n`,
    ),
    r.stderr,
  );
});
