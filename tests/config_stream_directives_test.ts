import assert from "node:assert/strict";
import { parseConfig } from "../src/config/loader.ts";
import { configError, noticesOf } from "./config_fixtures.ts";

Deno.test("every server block becomes one server with its listeners", () => {
  const config = parseConfig(
    "stream {\nserver { listen 1; listen [::1]:2; echo a; }\nserver { listen unix:/tmp/x.sock; echo b; }\n}",
    { file: "s.conf" },
  );
  assert.equal(config.servers.length, 2);
  assert.deepEqual(config.servers[0].listen.map((l) => l.address), ["1", "[::1]:2"]);
  assert.deepEqual(config.servers[0].pos, { file: "s.conf", line: 2 });
  assert.equal(config.servers[1].listen[0].kind, "unix");
});

Deno.test("several servers may all listen on port 0", () => {
  const config = parseConfig(
    "stream { server { listen 0; echo a; } server { listen 0; listen 127.0.0.1:0; echo b; } }",
  );
  assert.equal(config.servers.length, 2);
});

Deno.test("a stream block without servers compiles to no servers", () => {
  assert.deepEqual(parseConfig("stream { }").servers, []);
});

Deno.test("a server without echo directives is accepted with a notice", () => {
  assert.deepEqual(noticesOf("stream { server { listen 0; } }"), [
    "server has no echo_* directives: it closes every connection at once",
  ]);
});

const errorCases: { name: string; config: string; message: string }[] = [
  {
    name: "a server without listen is an error",
    config: "stream {\n server {\n echo hi;\n }\n}",
    message: 'no "listen" is defined for server in s.conf:2',
  },
  {
    name: "the same address in two servers is an error",
    config:
      "stream {\nserver { listen 127.0.0.1:8000; echo; }\nserver { listen 127.0.0.1:8000; echo; }\n}",
    message:
      'duplicate "127.0.0.1:8000" address and port pair (first used in s.conf:2) in s.conf:3',
  },
  {
    name: "the same port written two ways is a duplicate",
    config: "stream {\nserver { listen 8000; echo; }\nserver { listen *:8000; echo; }\n}",
    message: 'duplicate "0.0.0.0:8000" address and port pair (first used in s.conf:2) in s.conf:3',
  },
  {
    name: "the same address twice in one server is an error",
    config: "stream {\nserver {\nlisten [::1]:1;\nlisten [::1]:1;\necho; }\n}",
    message: 'duplicate "[::1]:1" address and port pair (first used in s.conf:3) in s.conf:4',
  },
  {
    name: "the same unix socket in two servers is an error",
    config: "stream {\nserver { listen unix:/s; echo; }\nserver { listen unix:/s; echo; }\n}",
    message: 'duplicate "unix:/s" address and port pair (first used in s.conf:2) in s.conf:3',
  },
  {
    name: "a port outside 0-65535 is an error",
    config: "stream {\nserver {\nlisten 70000;\necho; }\n}",
    message: 'invalid port in "70000" of the "listen" directive in s.conf:3',
  },
  {
    name: "listen without an address is an error",
    config: "stream {\nserver {\nlisten;\necho; }\n}",
    message: 'invalid number of arguments in "listen" directive in s.conf:3',
  },
  {
    name: "a server with arguments is an error",
    config: "stream {\nserver x {\nlisten 1; }\n}",
    message: 'invalid number of arguments in "server" directive in s.conf:2',
  },
];

for (const c of errorCases) {
  Deno.test(c.name, () => {
    assert.equal(configError(c.config, { file: "s.conf" }).message, c.message);
  });
}
