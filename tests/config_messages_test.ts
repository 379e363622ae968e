/**
 * Messages a new user needs: where an unclosed quote or block opened, "did you mean" for a
 * near-miss directive name, a [warn] for the classic missing ";", and bounded quoting of
 * huge tokens.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../src/config/errors.ts";
import { parseConfig } from "../src/config/loader.ts";
import { closest, editDistance } from "../src/config/suggest.ts";
import { CliProcess, oneServer, runCli, TempDir } from "./cli_harness.ts";

function errorOf(text: string): ConfigError {
  try {
    parseConfig(text, { file: "se.conf" });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail("expected a ConfigError");
}

const unclosed: { name: string; text: string; message: string }[] = [
  {
    name: "a quote left open names the line it opened on",
    text: 'stream {\n  server {\n    listen 0;\n    echo "220 hi;\n    echo x;\n  }\n}\n',
    message: 'unexpected end of file, expecting ";" or "}" in se.conf:8, ' +
      "the quote opened in se.conf:4",
  },
  {
    name: "a single quote too",
    text: "stream { server { listen 0;\n\necho 'x; } }",
    message: 'unexpected end of file, expecting ";" or "}" in se.conf:3, ' +
      "the quote opened in se.conf:3",
  },
  {
    name: "a block left open names the innermost open block",
    text: "stream {\n  server {\n    listen 0;\n    echo;\n",
    message: 'unexpected end of file, expecting "}" in se.conf:5, ' +
      'the "server" block opened in se.conf:2',
  },
  {
    name: "a directive left without ';' names where it started",
    text: "stream { server { listen 0; } }\nworker_processes\n  2",
    message: 'unexpected end of file, expecting ";" or "}" in se.conf:3, ' +
      'the "worker_processes" directive started in se.conf:2',
  },
];
for (const c of unclosed) {
  Deno.test(c.name, () => assert.equal(errorOf(c.text).message, c.message));
}

const typos: { name: string; hint?: string }[] = [
  { name: "echo_readline", hint: "echo_read_line" },
  { name: "ech", hint: "echo" },
  { name: "ehco", hint: "echo" },
  { name: "lisen", hint: "listen" },
  { name: "echo_sleeep", hint: "echo_sleep" },
  { name: "worker_connection", hint: "worker_connections" },
  { name: "banana" },
  { name: "proxy_pass" },
];
for (const t of typos) {
  Deno.test(`unknown directive "${t.name}" ${t.hint ? `suggests "${t.hint}"` : "suggests nothing"}`, () => {
    const err = errorOf(`stream { server { listen 0;\n\n${t.name}; } }`);
    const hint = t.hint ? `, did you mean "${t.hint}"?` : "";
    assert.equal(err.message, `unknown directive "${t.name}" in se.conf:3${hint}`);
  });
}

Deno.test("editDistance() counts a swap of two neighbours as one edit and gives up past max", () => {
  assert.equal(editDistance("ehco", "echo", 3), 1);
  assert.equal(editDistance("echo_readline", "echo_read_line", 3), 1);
  assert.equal(editDistance("abcdef", "uvwxyz", 2), 3);
  assert.equal(closest("x".repeat(65), ["x".repeat(65)]), undefined);
});

Deno.test("a 2 MB unknown directive name gives a short, one-line message", () => {
  const name = "e".repeat(2 * 1024 * 1024);
  const err = errorOf(`${name};`);
  assert.equal(err.message, `unknown directive "${"e".repeat(64)}..." in se.conf:1`);
});

Deno.test("a 2 MB argument is quoted by a bounded prefix in messages too", () => {
  const value = "9".repeat(2 * 1024 * 1024) + "x";
  const err = errorOf(`stream { echo_read_timeout ${value}; }`);
  assert.equal(
    err.message,
    `"echo_read_timeout" directive invalid value "${"9".repeat(64)}..." in se.conf:1`,
  );
  assert.ok(err.message.length < 200);
});

const missingSemicolon: {
  name: string;
  body: string;
  warning?: { message: string; line: number };
}[] = [
  {
    name: "echo followed by a directive on the next line warns",
    body: 'echo "220 hi"\n    echo_discard_request;',
    warning: {
      message: '"echo" also sends "echo_discard_request" from line 5 as text, ' +
        'probably a missing ";"',
      line: 4,
    },
  },
  {
    name: "echo_duplicate too",
    body: "echo_duplicate 2\n    echo_read_line;",
    warning: {
      message: '"echo_duplicate" also sends "echo_read_line" from line 5 as text, ' +
        'probably a missing ";"',
      line: 4,
    },
  },
  {
    name: "a directive name on the same line is text on purpose: no warning",
    body: "echo listen echo_sleep;",
  },
  {
    name: "a directive of another block on the next line: no warning",
    body: 'echo "hello"\n    stream events;',
  },
  {
    name: "other words on the next line: no warning",
    body: 'echo "hello"\n    world;',
  },
];
for (const c of missingSemicolon) {
  Deno.test(`missing ";": ${c.name}`, () => {
    const config = parseConfig(oneServer(c.body), { file: "se.conf" });
    const warnings = config.notices.filter((n) => n.level === "warn");
    if (c.warning === undefined) {
      assert.deepEqual(warnings, []);
      return;
    }
    assert.deepEqual(warnings, [{
      level: "warn",
      message: c.warning.message,
      pos: { file: "se.conf", line: c.warning.line },
    }]);
    assert.equal(config.servers.length, 1, "the config still loads");
  });
}

const missingSemicolonErrors: { name: string; text: string; message: string }[] = [
  {
    name: "echo_read_line swallowing the next directive",
    text: "stream {\n  server {\n    listen 0;\n    echo_read_line\n    echo_sleep 1;\n  }\n}\n",
    message: 'invalid number of arguments in "echo_read_line" directive in se.conf:4, ' +
      'probably a missing ";" before "echo_sleep" on line 5',
  },
  {
    name: "an echo family directive in the module's words",
    text: "stream {\n  server {\n    listen 0;\n    echo_sleep 1\n    echo_read_line;\n  }\n}\n",
    message: 'stream echo requires one value argument in "echo_sleep" but got 2 in se.conf:4, ' +
      'probably a missing ";" before "echo_read_line" on line 5',
  },
  {
    name: "listen swallowing a step",
    text: "stream {\n  server {\n    listen 0\n    echo_read_line;\n  }\n}\n",
    message: 'the invalid "echo_read_line" parameter in se.conf:3, ' +
      'probably a missing ";" before "echo_read_line" on line 4',
  },
  {
    name: "a setting swallowing a step",
    text: "stream {\n  server {\n    listen 0;\n    echo_read_timeout 5s\n    echo hi;\n  }\n}\n",
    message: 'invalid number of arguments in "echo_read_timeout" directive in se.conf:4, ' +
      'probably a missing ";" before "echo" on line 5',
  },
  {
    name: "extra words on the same line: no hint",
    text: "stream {\n  server {\n    listen 0;\n    echo_read_line echo_sleep;\n  }\n}\n",
    message: 'invalid number of arguments in "echo_read_line" directive in se.conf:4',
  },
  {
    name: "a word on the next line that names no directive of this block: no hint",
    text: "stream {\n  server {\n    listen 0;\n    echo_read_line\n    stream;\n  }\n}\n",
    message: 'invalid number of arguments in "echo_read_line" directive in se.conf:4',
  },
];

for (const c of missingSemicolonErrors) {
  Deno.test(`missing ";" that breaks a directive: ${c.name}`, () => {
    assert.equal(errorOf(c.text).message, c.message);
  });
}

const notAllowedHere: { name: string; text: string; message: string }[] = [
  {
    name: "a server without its stream block",
    text: "server { listen 0; echo hi; }",
    message: '"server" directive is not allowed here in se.conf:1, it belongs in "stream { }"',
  },
  {
    name: "a step outside any server",
    text: "stream { echo hi; }",
    message: '"echo" directive is not allowed here in se.conf:1, it belongs in "server { }"',
  },
  {
    name: "listen in stream",
    text: "stream { listen 80; }",
    message: '"listen" directive is not allowed here in se.conf:1, it belongs in "server { }"',
  },
  {
    name: "a setting of two blocks, inside a loop",
    text: "stream { server { listen 0; echo_loop 2 { echo_read_timeout 1s; } } }",
    message: '"echo_read_timeout" directive is not allowed here in se.conf:1, ' +
      'it belongs in "stream { }" or "server { }"',
  },
  {
    name: "a main-context directive in stream",
    text: "stream { worker_processes 2; }",
    message: '"worker_processes" directive is not allowed here in se.conf:1, ' +
      "it belongs in the main context (the top level)",
  },
  {
    name: "worker_connections outside events",
    text: "worker_connections 10;",
    message: '"worker_connections" directive is not allowed here in se.conf:1, ' +
      'it belongs in "events { }"',
  },
  {
    name: "when outside echo_match",
    text: "stream { server { listen 0; when x { } } }",
    message: '"when" directive is not allowed here in se.conf:1, it belongs in "echo_match { }"',
  },
  {
    name: "a step directly in echo_match",
    text: "stream { server { listen 0; echo_match { echo hi; } } }",
    message: '"echo" directive is not allowed here in se.conf:1, ' +
      'only "when" and "default" go directly in "echo_match { }"',
  },
];

for (const c of notAllowedHere) {
  Deno.test(`"not allowed here" says where it belongs: ${c.name}`, () => {
    const err = errorOf(c.text);
    assert.equal(err.message, c.message);
    assert.match(err.reason, /directive is not allowed here$/, "nginx's words stay the reason");
  });
}

Deno.test('check prints the missing ";" [warn] with file:line, even with -q, and succeeds', async () => {
  using dir = new TempDir();
  const conf = dir.write("warn.conf", oneServer('echo "220 hi"\n        echo_discard_request;'));
  for (const quiet of [[], ["-q"]]) {
    const r = await runCli(["check", ...quiet, "-c", conf], dir.path);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stderr.includes(
        'stream-echo: [warn] "echo" also sends "echo_discard_request" from line 5 as text, ' +
          `probably a missing ";" in ${conf}:4\n`,
      ),
      r.stderr,
    );
  }
});

Deno.test('serve logs the missing ";" at [warn] with file:line and serves the config anyway', async () => {
  using dir = new TempDir();
  const conf = dir.write("warn.conf", oneServer('echo "220 hi"\n        echo_discard_request;'));
  await using p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
  await p.port();
  assert.match(
    p.stderr,
    new RegExp(
      `\\[warn\\] \\d+#0: "echo" also sends "echo_discard_request" from line 5 .* in ${conf}:4`,
    ),
  );
  p.kill("SIGTERM");
  assert.equal((await p.exited()).code, 0);
});
