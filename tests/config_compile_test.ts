import assert from "node:assert/strict";
import { compile } from "../src/config/compile.ts";
import { parse } from "../src/config/parser.ts";
import { configError } from "./config_fixtures.ts";

const source = { baseDir: "/etc/se", readFile: () => "", listDir: () => [] };

Deno.test("compile() turns a tree into plain data with the main file's name", () => {
  const tree = parse("stream { server { listen 1234; echo hi; } }", "se.conf");
  const config = compile(tree, { file: "se.conf", fileKey: "/etc/se/se.conf", source });
  assert.equal(config.file, "se.conf");
  assert.equal(config.servers.length, 1);
  assert.deepEqual(config.main, { workerProcesses: 1, errorLog: [], workerConnections: 512 });
  assert.deepEqual(config.notices, []);
  // plain data: survives structuredClone unchanged
  assert.deepEqual(structuredClone(config), config);
});

Deno.test("compile() accepts an empty config", () => {
  const config = compile([], { file: "e.conf", fileKey: "/e.conf", source });
  assert.deepEqual(config.servers, []);
});

/** The generic checks, in nginx's words and order. */
const cases: { name: string; config: string; message: string }[] = [
  {
    name: "an unknown directive is an error",
    config: "ech hi;",
    message: 'unknown directive "ech"',
  },
  {
    name: "an unknown directive inside a server is an error",
    config: "stream { server { listen 0; ech hi; } }",
    message: 'unknown directive "ech"',
  },
  {
    name: "echo at stream level is not allowed",
    config: "stream { echo hi; }",
    message: '"echo" directive is not allowed here',
  },
  {
    name: "echo at main level is not allowed",
    config: "echo hi;",
    message: '"echo" directive is not allowed here',
  },
  {
    name: "listen at stream level is not allowed",
    config: "stream { listen 80; }",
    message: '"listen" directive is not allowed here',
  },
  {
    name: "server at main level is not allowed",
    config: "server { listen 80; }",
    message: '"server" directive is not allowed here',
  },
  {
    name: "a server inside a server is not allowed",
    config: "stream { server { listen 0; server { } } }",
    message: '"server" directive is not allowed here',
  },
  {
    name: "stream inside stream is not allowed",
    config: "stream { stream { } }",
    message: '"stream" directive is not allowed here',
  },
  {
    name: "worker_connections outside events is not allowed",
    config: "worker_connections 10;",
    message: '"worker_connections" directive is not allowed here',
  },
  {
    name: "a simple directive opening a block is not terminated",
    config: "stream { server { listen 0; echo hi { } } }",
    message: 'directive "echo" is not terminated by ";"',
  },
  {
    name: "a block directive ended by ; has no opening {",
    config: "stream;",
    message: 'directive "stream" has no opening "{"',
  },
  {
    name: "a block directive with arguments has the wrong number of arguments",
    config: "stream x { }",
    message: 'invalid number of arguments in "stream" directive',
  },
  {
    name: "echo_sleep without arguments has the wrong number of arguments",
    config: "stream { server { listen 0; echo_sleep; } }",
    message: 'invalid number of arguments in "echo_sleep" directive',
  },
  {
    name: "the context check comes before the arity check",
    config: "stream { echo_flush_wait 1 2; }",
    message: '"echo_flush_wait" directive is not allowed here',
  },
];

for (const c of cases) {
  Deno.test(`compile(): ${c.name}`, () => {
    assert.equal(configError(c.config, { file: "t.conf" }).reason, c.message);
  });
}

Deno.test("compile() reports the line of the directive's name", () => {
  const err = configError("stream {\n  server {\n    listen 0;\n    ech\n      hi;\n  }\n}", {
    file: "t.conf",
  });
  assert.equal(err.message, 'unknown directive "ech" in t.conf:4, did you mean "echo"?');
});
