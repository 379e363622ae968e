/** serve() reports a bad config with the file and line of the user's own text. */
import assert from "node:assert/strict";
import { ConfigError, ListenError, parseConfig, serve } from "../mod.ts";

const BODY_CASES: { body: string; line: number; reason: RegExp; hint?: string }[] = [
  { body: "ech hi;", line: 1, reason: /^unknown directive "ech"$/, hint: 'did you mean "echo"?' },
  { body: "echo a;\necho b;\necho_sleep;", line: 3, reason: /invalid number of arguments/ },
  { body: "\n\n  echo_read_bytes 0.5k;", line: 3, reason: /echo_read_bytes/ },
  { body: "echo ok;\nlisten 1234;", line: 2, reason: /"listen" directive is not allowed/ },
  { body: "echo a", line: 1, reason: /^unexpected "}" at the end of the server body$/ },
  {
    body: 'echo "abc;\necho x;',
    line: 2,
    reason: /^unexpected end of file, expecting ";" or "}" at the end of the server body$/,
    hint: "the quote opened in <server>:1",
  },
  {
    body: "echo a; }\nserver { listen 127.0.0.1:0; echo b;",
    line: 2,
    reason: /cannot close its block/,
  },
];

Deno.test("serve({ server }) rejects a bad body with the body's own line numbers", async (t) => {
  for (const { body, line, reason, hint } of BODY_CASES) {
    await t.step(JSON.stringify(body), async () => {
      const err = await serve({ server: body }).catch((e) => e);
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.file, "<server>");
      assert.equal(err.line, line);
      assert.match(err.reason, reason);
      assert.equal(err.hint, hint);
      const after = hint === undefined ? "" : `, ${hint}`;
      assert.equal(err.message, `${err.reason} in ${err.file}:${line}${after}`);
    });
  }
});

Deno.test("serve({ server, file }) names the file in errors", async () => {
  const err = await serve({ server: "echo a;\nech b;", file: "mocks/redis.body" }).catch((e) => e);
  assert.ok(err instanceof ConfigError);
  assert.equal(err.message, 'unknown directive "ech" in mocks/redis.body:2, did you mean "echo"?');
});

Deno.test("serve({ config, file }) rejects with the file and line of the mistake", async () => {
  const config = "stream {\n  server {\n    listen 127.0.0.1:0;\n    echo_duplicate x y;\n  }\n}\n";
  const err = await serve({ config, file: "/etc/se.conf" }).catch((e) => e);
  assert.ok(err instanceof ConfigError);
  assert.equal(err.file, "/etc/se.conf");
  assert.equal(err.line, 4);
});

Deno.test("serve({ config, file }) reports a mistake in an included file at its own line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/servers.conf`, "server {\n  listen 127.0.0.1:0;\n  bad;\n}\n");
    const config = "stream {\n  include servers.conf;\n}\n";
    const err = await serve({ config, file: `${dir}/main.conf` }).catch((e) => e);
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.file, `${dir}/servers.conf`);
    assert.equal(err.line, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseConfig() and serve() agree on a good config", async () => {
  const text = "stream { server { listen 127.0.0.1:0; echo_read_line; echo ok; } }";
  const config = parseConfig(text, { file: "a.conf" });
  assert.deepEqual(config.servers[0].steps.map((s) => s.op), ["read_line", "echo"]);
  await using server = await serve({ config: text, file: "a.conf" });
  assert.equal(server.addrs.length, 1);
});

Deno.test("serve() rejects with ListenError, naming the listen line, when the port is taken", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = taken.addr;
  const config = `stream {\n  server {\n    listen 127.0.0.1:${port};\n    echo hi;\n  }\n}\n`;
  const err = await serve({ config, file: "busy.conf" }).catch((e) => e);
  assert.ok(err instanceof ListenError, String(err));
  assert.equal(err.file, "busy.conf");
  assert.equal(err.line, 3);
  assert.match(err.message, /Address already in use/);
});
