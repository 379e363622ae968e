/**
 * `stream-echo check` / `stream-echo -t`: test a config the way `nginx -t` does.
 *
 * @module
 */
import type { Config } from "../config/types.ts";
import { atLeast } from "../log/logger.ts";
import { LogFileOpenError } from "../log/log_file_error.ts";
import { ErrorLogOpenError } from "./error_log.ts";
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
    openLogFiles(config);
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

/**
 * Opens (creating, appending nothing) every file `serve` would open for the config: the
 * `error_log` files, and every `access_log` and `echo_record` path the config names (used by a
 * server or not), as `nginx -t` does, so a log that
 * `serve` could not open fails the check with the same message.
 */
function openLogFiles(config: Config): void {
  const touch = (path: string) =>
    Deno.openSync(path, { write: true, append: true, create: true }).close();
  for (const t of config.main.errorLog) {
    if (t.target === "stderr") continue;
    try {
      touch(t.target);
    } catch (err) {
      throw new ErrorLogOpenError(t.target, err, t.pos);
    }
  }
  // Every file named anywhere, as nginx -t opens them: a stream-level access_log with no
  // server, or one every server overrides, included.
  const seen = new Set<string>();
  for (const f of config.logFiles ?? []) {
    if (seen.has(f.path)) continue;
    seen.add(f.path);
    try {
      touch(f.path);
    } catch (err) {
      throw new LogFileOpenError(f.path, err, f.directive, f.pos);
    }
  }
}
