import assert from "node:assert/strict";
import { parseConfig } from "../src/config/loader.ts";
import { configError, memoryFs, noticesOf } from "./config_fixtures.ts";

const files = {
  "/etc/se/servers/b.conf": "server { listen 2; echo b; }\n",
  "/etc/se/servers/a.conf": "server { listen 1; echo a; }\n",
  "/etc/se/servers/.hidden.conf": "server { listen 9; echo hidden; }\n",
  "/etc/se/servers/c.txt": "bad bad bad;",
  "/etc/se/body.conf": "\n\necho from-include;\n",
  "/etc/se/deep/one.conf": "include deep/two.conf;\n",
  "/etc/se/deep/two.conf": "echo_read_timeout 2s;\n",
  "/etc/se/loop/a.conf": "include loop/b.conf;\n",
  "/etc/se/loop/b.conf": "include loop/a.conf;\n",
  "/etc/se/bad.conf": "echo ok;\n\nech oops;\n",
  "/etc/se/open.conf": "server {\n",
  "/etc/se/close.conf": "}\n",
  "/etc/se/sub/x/1.conf": "server { listen 11; echo x1; }",
  "/etc/se/sub/y/1.conf": "server { listen 12; echo y1; }",
  "/etc/se/sub/y/2.conf": "server { listen 13; echo y2; }",
  "/etc/se/self.conf": "include self.conf;",
};
const opts = { file: "/etc/se/se.conf", ...memoryFs(files) };

Deno.test("include compiles the file's directives where the include is", () => {
  const config = parseConfig("stream { server { listen 0; include body.conf; } }", opts);
  assert.equal(config.servers[0].steps.length, 1);
  assert.deepEqual(config.servers[0].steps[0].pos, { file: "/etc/se/body.conf", line: 3 });
});

Deno.test("include with a glob takes the matches in sorted order, skipping dot files", () => {
  const config = parseConfig("stream { include servers/*.conf; }", opts);
  assert.deepEqual(config.servers.map((s) => s.listen[0].address), ["1", "2"]);
});

Deno.test("include globs with ? and [...] and across folders", () => {
  const config = parseConfig("stream { include sub/[xy]/?.conf; }", opts);
  assert.deepEqual(config.servers.map((s) => s.listen[0].address), ["11", "12", "13"]);
});

Deno.test("include resolves nested includes against the main config's folder", () => {
  const config = parseConfig("stream { include deep/one.conf; server { listen 0; echo; } }", opts);
  assert.equal(config.servers[0].settings.readTimeout, 2000);
});

Deno.test("include with an absolute path reads that path", () => {
  const config = parseConfig("stream { server { listen 0; include /etc/se/body.conf; } }", opts);
  assert.equal(config.servers[0].steps.length, 1);
});

Deno.test("include of a glob that matches nothing is accepted with a notice", () => {
  assert.deepEqual(noticesOf("include none/*.conf;", opts), [
    'include "none/*.conf" matched no files',
  ]);
});

const errorCases: { name: string; config: string; message: string }[] = [
  {
    name: "include of a missing file is an error at the include line",
    config: "stream {\ninclude missing.conf;\n}",
    message:
      'open() "/etc/se/missing.conf" failed (No such file or directory) in /etc/se/se.conf:2',
  },
  {
    name: "an error inside an included file names that file and line",
    config: "stream { server { listen 0; include bad.conf; } }",
    message: 'unknown directive "ech" in /etc/se/bad.conf:3, did you mean "echo"?',
  },
  {
    name: "an include cycle is reported with its chain",
    config: "include loop/a.conf;",
    message: "include cycle: /etc/se/loop/a.conf -> /etc/se/loop/b.conf -> /etc/se/loop/a.conf " +
      "in /etc/se/loop/b.conf:1",
  },
  {
    name: "a file including itself is a cycle",
    config: "include self.conf;",
    message: "include cycle: /etc/se/self.conf -> /etc/se/self.conf in /etc/se/self.conf:1",
  },
  {
    name: "including the main file is a cycle",
    config: "\ninclude se.conf;",
    message: "include cycle: /etc/se/se.conf -> /etc/se/se.conf in /etc/se/se.conf:2",
  },
  {
    name: "a block opened in an included file must close there",
    config: "stream { include open.conf; }",
    message: 'unexpected end of file, expecting "}" in /etc/se/open.conf:2, ' +
      'the "server" block opened in /etc/se/open.conf:1',
  },
  {
    name: "an included file cannot close the including block",
    config: "stream { server { listen 0; include close.conf; } }",
    message: 'unexpected "}" in /etc/se/close.conf:1',
  },
  {
    name: "include of an empty path is an error",
    config: 'include "";',
    message: '"include" directive invalid value "" in /etc/se/se.conf:1',
  },
  {
    name: "include takes exactly one argument",
    config: "include a b;",
    message: 'invalid number of arguments in "include" directive in /etc/se/se.conf:1',
  },
  {
    name: "include cannot open a block",
    config: "include a { }",
    message: 'directive "include" is not terminated by ";" in /etc/se/se.conf:1',
  },
  {
    name: "included directives obey the context of the include",
    config: "include body.conf;",
    message:
      '"echo" directive is not allowed here in /etc/se/body.conf:3, it belongs in "server { }"',
  },
];

for (const c of errorCases) {
  Deno.test(c.name, () => {
    assert.equal(configError(c.config, opts).message, c.message);
  });
}

Deno.test("includes nested deeper than the guard are an error, not a stack overflow", () => {
  const chain: Record<string, string> = {};
  for (let i = 0; i < 100; i++) chain[`/d/${i}.conf`] = `include ${i + 1}.conf;`;
  const err = configError("include 0.conf;", { file: "/d/se.conf", ...memoryFs(chain) });
  assert.equal(err.message, "includes are nested more than 64 deep in /d/63.conf:1");
});

Deno.test("include reads real files relative to the config's folder, not the working directory", () => {
  const dir = Deno.makeTempDirSync({ prefix: "se-include-" });
  try {
    Deno.mkdirSync(`${dir}/conf.d`);
    Deno.writeTextFileSync(`${dir}/conf.d/20-b.conf`, "server { listen 0; echo b; }");
    Deno.writeTextFileSync(`${dir}/conf.d/10-a.conf`, "server { listen 0; echo a; }");
    Deno.mkdirSync(`${dir}/conf.d/99-dir.conf`);
    const config = parseConfig("stream { include conf.d/*.conf; }", { file: `${dir}/se.conf` });
    assert.deepEqual(
      config.servers.map((s) => s.steps[0].pos.file),
      [`${dir}/conf.d/10-a.conf`, `${dir}/conf.d/20-b.conf`],
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
