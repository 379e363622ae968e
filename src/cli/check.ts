/**
 * `stream-echo check` / `stream-echo -t`: test a config the way `nginx -t` does.
 *
 * @module
 */
import { atLeast } from "../log/logger.ts";
import type { Invocation } from "./args.ts";
import { DEFAULT_CONFIG_NAME } from "./default_config.ts";
import { loadCliConfig } from "./load.ts";
import type { CliIO } from "./serve.ts";

/**
 * Loads the config without binding anything and prints nginx's two lines on stderr:
 * `stream-echo: the configuration file X syntax is ok` and
 * `stream-echo: configuration file X test is successful` (exit 0), or
 * `stream-echo: [emerg] <error in file:line>` and
 * `stream-echo: configuration file X test failed` (exit 1).
 */
export function check(inv: Invocation, io: CliIO): number {
  const name = inv.config ?? DEFAULT_CONFIG_NAME;
  try {
    const config = loadCliConfig(inv.config);
    const level = inv.logLevel ?? "notice";
    for (const n of config.notices) {
      const at = n.level ?? "notice";
      // -q hides notices, as it hides nginx's "syntax is ok"; warnings still show
      if (!atLeast(at, level) || (inv.quiet && at === "notice")) continue;
      io.stderr(`stream-echo: [${at}] ${n.message} in ${n.pos.file}:${n.pos.line}\n`);
    }
  } catch (err) {
    io.stderr(`stream-echo: [emerg] ${err instanceof Error ? err.message : String(err)}\n`);
    io.stderr(`stream-echo: configuration file ${name} test failed\n`);
    return 1;
  }
  if (!inv.quiet) {
    io.stderr(`stream-echo: the configuration file ${name} syntax is ok\n`);
    io.stderr(`stream-echo: configuration file ${name} test is successful\n`);
  }
  return 0;
}
