/**
 * Resets need the connection's descriptor (Linux, --allow-ffi). Where the process cannot send
 * one, every place the config asks for a reset is named at start with a [warn], instead of the
 * client quietly getting a clean close.
 */
import assert from "node:assert/strict";
import { parseConfig } from "../src/config/loader.ts";
import { resetUnavailable, resetWarnings } from "../src/server/reset_support.ts";
import { CliProcess, oneServer, TempDir } from "./cli_harness.ts";

const cases: { name: string; config: string; lines: number[] }[] = [
  {
    name: "echo_reset at the top, in a loop, a match and a split",
    config: `stream { server { listen 127.0.0.1:0;
      echo_reset;
      echo_loop 2 { echo_read_line; echo_reset; }
      echo_read_line; echo_match { when = "a" { echo_reset; } default { echo_reset; } }
      echo_split { 50% { echo_reset; } * { echo ok; } }
    } }`,
    lines: [2, 3, 4, 4, 5],
  },
  {
    name: "echo_send_limit with reset, not with close",
    config: `stream { server { listen 127.0.0.1:0;
      echo_send_limit 5 reset;
      echo_send_limit 5 close;
    } }`,
    lines: [2],
  },
  {
    name: "echo_mismatch_action reset, named at each server it applies to",
    config: `stream { echo_mismatch_action reset;
      server { listen 127.0.0.1:0; echo_read_literal "a"; }
      server { listen 127.0.0.1:0; echo_mismatch_action close; echo_read_literal "b"; }
    }`,
    lines: [2],
  },
  { name: "nothing that resets", config: oneServer("echo_close;"), lines: [] },
];

for (const c of cases) {
  Deno.test(`resetWarnings: ${c.name}`, () => {
    const warnings = resetWarnings(parseConfig(c.config, { file: "se.conf" }), "why");
    assert.deepEqual(
      warnings.map((w) =>
        Number(/ in se\.conf:(\d+) closes without a TCP reset here \(why\)$/.exec(w)?.[1])
      ),
      c.lines,
      warnings.join("\n"),
    );
    assert.deepEqual(resetWarnings(parseConfig(c.config, { file: "se.conf" }), undefined), []);
  });
}

Deno.test("resetUnavailable: only Linux can, and here with --allow-ffi it can", () => {
  assert.equal(resetUnavailable("darwin"), "only Linux can, not darwin");
  if (
    Deno.build.os === "linux" && Deno.permissions.querySync({ name: "ffi" }).state === "granted"
  ) {
    assert.equal(resetUnavailable(), undefined);
  }
});

Deno.test({
  name: "serve without --allow-ffi warns at start where the config asks for a reset",
  ignore: Deno.build.os !== "linux",
  async fn() {
    using dir = new TempDir();
    const conf = dir.write("a.conf", oneServer("echo_read_line;\necho_reset;"));
    const saved = Deno.env.get("STREAM_ECHO_CMD");
    const cli = new URL("../cli.ts", import.meta.url).pathname;
    Deno.env.set(
      "STREAM_ECHO_CMD",
      `${Deno.execPath()} run --allow-net --allow-read --allow-write --no-prompt ${cli}`,
    );
    let p: CliProcess;
    try {
      p = new CliProcess(["serve", "-c", conf], { cwd: dir.path });
    } finally {
      if (saved === undefined) Deno.env.delete("STREAM_ECHO_CMD");
      else Deno.env.set("STREAM_ECHO_CMD", saved);
    }
    await using proc = p;
    await proc.waitFor(
      /\[warn\] .*"echo_reset" in .*a\.conf:\d+ closes without a TCP reset here \(needs --allow-ffi\)/,
    );
  },
});
