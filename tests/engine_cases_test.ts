/**
 * Directive behaviour as data: every folder under tests/cases/ is a server config, a request and
 * the exact expected response (see tests/cases/README.md), run against a real TCP listener.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseConfig } from "../src/config/loader.ts";
import { ioTest, readAll, scriptServer } from "./engine_harness.ts";

const root = new URL("./cases/", import.meta.url);

function readOptional(url: URL): string | undefined {
  try {
    return Deno.readTextFileSync(url);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

const names = [...Deno.readDirSync(root)].filter((e) => e.isDirectory).map((e) => e.name).sort();

ioTest("behaviour cases: the case folder is not empty", () => {
  assert(names.length >= 10, `${names.length} cases`);
});

for (const name of names) {
  const dir = new URL(`${name}/`, root);
  ioTest(`behaviour case ${name}`, async () => {
    const body = Deno.readTextFileSync(new URL("server.conf", dir));
    const streamLevel = readOptional(new URL("stream.conf", dir)) ?? "";
    const request = readOptional(new URL("request", dir));
    const expected = Deno.readTextFileSync(new URL("response", dir));
    const logLines = readOptional(new URL("log", dir))?.split("\n").filter((l) => l !== "") ?? [];
    const config = parseConfig(
      `stream {\n${streamLevel}\nserver {\nlisten 127.0.0.1:0;\n${body}\n}\n}`,
      { file: `tests/cases/${name}/server.conf` },
    );
    const server = config.servers[0];
    await using listener = scriptServer({ steps: server.steps, settings: server.settings });
    const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.port });
    let got: string;
    try {
      if (request !== undefined) await client.write(new TextEncoder().encode(request));
      got = await readAll(client);
    } finally {
      client.close();
    }
    assertEquals(got, expected);
    await listener.nextResult();
    if (logLines.length === 0) {
      assertEquals(listener.logger.lines, []);
    } else {
      for (const line of logLines) {
        assert(
          listener.logger.lines.some((l) => l.includes(line)),
          `log lacks ${JSON.stringify(line)}: ${JSON.stringify(listener.logger.lines)}`,
        );
      }
    }
  });
}
