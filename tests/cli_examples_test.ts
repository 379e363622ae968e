/** Every config in examples/ passes `stream-echo check` exactly as shipped (the file a user copies). */
import assert from "node:assert/strict";
import { runCli, TempDir } from "./cli_harness.ts";
import { exampleNames } from "./real_clients.ts";

const EXAMPLES = new URL("../examples/", import.meta.url).pathname;

Deno.test("examples/ holds the five protocol mocks the README describes", () => {
  for (const name of ["http.conf", "memcached.conf", "postgres.conf", "redis.conf", "smtp.conf"]) {
    assert.ok(exampleNames().includes(name), `examples/${name}`);
  }
});

for (const name of exampleNames()) {
  Deno.test(`stream-echo check accepts examples/${name} as shipped`, async () => {
    using dir = new TempDir();
    const conf = `${EXAMPLES}${name}`;
    const r = await runCli(["check", "-c", conf], dir.path);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /test is successful\n$/);
  });
}
