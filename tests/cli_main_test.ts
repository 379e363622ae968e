/** main() in process: exit codes and where each kind of output goes, with an injected IO. */
import assert from "node:assert/strict";
import { main, VERSION } from "../cli.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) },
    out: () => out.join(""),
    err: () => err.join(""),
  };
}

Deno.test("main(--version) prints the compiled-in version on stdout and returns 0", async () => {
  const c = capture();
  assert.equal(await main(["--version"], c.io), 0);
  assert.match(c.out(), new RegExp(`^stream-echo ${VERSION.replaceAll(".", "\\.")} \\(deno `));
  assert.equal(c.err(), "");
});

Deno.test("main() returns 2 and prints usage on stderr for a usage error", async () => {
  const c = capture();
  assert.equal(await main(["serve", "--nope"], c.io), 2);
  assert.equal(c.out(), "");
  assert.match(c.err(), /^stream-echo: unknown flag "--nope"\n\nUsage: stream-echo serve /);
});

Deno.test("main() shows the overall usage for a usage error that names no command", async () => {
  const c = capture();
  assert.equal(await main(["--nope"], c.io), 2);
  assert.match(c.err(), /^stream-echo: unknown flag "--nope"\n\nUsage: stream-echo <command>/);
});

Deno.test("main(check) returns 0 or 1 with nginx's lines on stderr", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const good = `${dir}/good.conf`;
    Deno.writeTextFileSync(good, "stream { server { listen 127.0.0.1:0; echo hi; } }\n");
    const ok = capture();
    assert.equal(await main(["-t", "-c", good], ok.io), 0);
    assert.match(ok.err(), /syntax is ok\n.*test is successful\n$/);
    const bad = `${dir}/bad.conf`;
    Deno.writeTextFileSync(bad, "stream { server { listen 127.0.0.1:0; echo_sleep; } }\n");
    const no = capture();
    assert.equal(await main(["check", "-c", bad], no.io), 1);
    assert.match(no.err(), /\[emerg\] .*bad\.conf:1\n.*test failed\n$/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("main(serve) with a bad config returns 1 with an [emerg] line and binds nothing", async () => {
  const c = capture();
  const dir = Deno.makeTempDirSync();
  try {
    const conf = `${dir}/bad.conf`;
    Deno.writeTextFileSync(conf, "stream { server { listen 127.0.0.1:0; ech; } }\n");
    assert.equal(await main(["serve", "-c", conf], c.io), 1);
    assert.match(
      c.err(),
      /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[emerg\] \d+#0: unknown directive "ech"/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
