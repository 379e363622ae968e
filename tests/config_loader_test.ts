import assert from "node:assert/strict";
import { ConfigError } from "../src/config/errors.ts";
import { loadConfig, parseConfig } from "../src/config/loader.ts";
import { configError, memoryFs } from "./config_fixtures.ts";

Deno.test("parseConfig() names text configs <config> by default", () => {
  const config = parseConfig("stream { server { listen 0; echo; } }");
  assert.equal(config.file, "<config>");
  assert.equal(config.servers[0].pos.file, "<config>");
  assert.equal(configError("ech;").message, 'unknown directive "ech" in <config>:1');
});

Deno.test("parseConfig() resolves includes against baseDir when given", () => {
  const fs = memoryFs({ "/base/inc.conf": "server { listen 0; echo; }" });
  const config = parseConfig("stream { include inc.conf; }", {
    file: "/x/se.conf",
    baseDir: "/base",
    ...fs,
  });
  assert.equal(config.servers[0].pos.file, "/base/inc.conf");
});

Deno.test("parseConfig() resolves includes against the file's folder by default", () => {
  const fs = memoryFs({ "/x/inc.conf": "server { listen 0; echo; }" });
  const config = parseConfig("stream { include inc.conf; }", { file: "/x/se.conf", ...fs });
  assert.equal(config.servers[0].pos.file, "/x/inc.conf");
});

Deno.test("parseConfig() turns any failure of readFile into a ConfigError at the include", () => {
  const err = configError("\ninclude a.conf;", {
    file: "/x/se.conf",
    readFile: () => {
      throw new TypeError("disk on fire");
    },
  });
  assert.equal(err.message, 'open() "/x/a.conf" failed (disk on fire) in /x/se.conf:2');
});

Deno.test("loadConfig() reads a file and resolves includes against its folder, not the working directory", () => {
  const dir = Deno.makeTempDirSync({ prefix: "se-load-" });
  try {
    Deno.writeTextFileSync(`${dir}/se.conf`, "stream {\n  include servers.conf;\n}\n");
    Deno.writeTextFileSync(`${dir}/servers.conf`, "server { listen 0; echo loaded; }\n");
    const config = loadConfig(`${dir}/se.conf`);
    assert.equal(config.file, `${dir}/se.conf`);
    assert.equal(config.servers[0].pos.file, `${dir}/servers.conf`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("loadConfig() reports a missing file as a ConfigError", () => {
  assert.throws(() => loadConfig("/nonexistent/se.conf"), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(
      err.message,
      'open() "/nonexistent/se.conf" failed (No such file or directory) in /nonexistent/se.conf:1',
    );
    return true;
  });
});

Deno.test("loadConfig() reports bad text with the file's path and line", () => {
  const dir = Deno.makeTempDirSync({ prefix: "se-load-" });
  try {
    Deno.writeTextFileSync(
      `${dir}/se.conf`,
      "stream {\n  server {\n    listen 0;\n    echo -t;\n  }\n}\n",
    );
    assert.throws(() => loadConfig(`${dir}/se.conf`), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.message,
        `stream echo sees unknown option "-t" in "echo" in ${dir}/se.conf:4`,
      );
      return true;
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
