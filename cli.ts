/**
 * The `stream-echo` command line. `main()` maps every outcome to an exit code; this file is
 * the only place that calls `Deno.exit`.
 *
 * @module
 */
import denoJson from "./deno.json" with { type: "json" };
import { isCommand, parseArgs, UsageError } from "./src/cli/args.ts";
import { check } from "./src/cli/check.ts";
import { type CliIO, EXIT_FLUSH_MS, serve, serveWorker } from "./src/cli/serve.ts";
import { commandHelp, USAGE } from "./src/cli/usage.ts";
import { writeAllSync } from "./src/cli/error_log.ts";
import { formatLogLine } from "./src/log/logger.ts";
import { LogSink } from "./src/log/sink.ts";
import { isWorkerThread } from "./src/lifecycle/worker_protocol.ts";

/** The version printed by `stream-echo --version` (from deno.json, compiled in). */
export const VERSION: string = denoJson.version;

/** stderr carries the error log: never written synchronously (a stalled pipe would freeze
 * every session), but through a bounded buffer flushed before exit. */
const stderrSink = new LogSink(Deno.stderr);

const processIO: CliIO = {
  stdout: (text) => writeAllSync(Deno.stdout, text),
  stderr: (text) => stderrSink.write(text),
  flush: (timeoutMs) => stderrSink.flush(timeoutMs),
};

/**
 * Runs the CLI with `args` (without the program name) and resolves to the exit code:
 * 0 ok, 1 config or runtime failure, 2 usage error.
 *
 * @example
 * ```ts ignore
 * import { main } from "./cli.ts";
 * const code = await main(["check", "--config", "se.conf"]);
 * ```
 */
export async function main(args: readonly string[], io: CliIO = processIO): Promise<number> {
  let inv;
  try {
    inv = parseArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    // The usage of the command the user was typing, when one is named; else the overview.
    const named = args.find(isCommand);
    io.stderr(`stream-echo: ${err.message}\n\n${named ? commandHelp(named) : USAGE}`);
    return 2;
  }
  switch (inv.command) {
    case "help":
      io.stdout(inv.topic ? commandHelp(inv.topic) : USAGE);
      return 0;
    case "version":
      io.stdout(
        `stream-echo ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})\n`,
      );
      return 0;
    case "check":
      return check(inv, io);
    case "serve":
      // Worker threads (`worker_processes N`) load this very module again: the bundle and the
      // compiled binary carry them with no second entry point.
      return await serve(inv, io, { workerModule: import.meta.url });
  }
}

if (import.meta.main && isWorkerThread()) {
  serveWorker();
} else if (import.meta.main) {
  // A fatal error (an exception nothing caught) still gets its line out, and the lines before
  // it, before the process ends.
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    const err = e.error;
    processIO.stderr(
      formatLogLine(
        "emerg",
        `fatal: ${err instanceof Error ? err.stack ?? err.message : String(err)}`,
        undefined,
        new Date(),
        Deno.pid,
      ) + "\n",
    );
    void processIO.flush!(EXIT_FLUSH_MS).finally(() => Deno.exit(1));
  });
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (err) {
    processIO.stderr(
      formatLogLine(
        "emerg",
        err instanceof Error ? err.message : String(err),
        undefined,
        new Date(),
        Deno.pid,
      ) + "\n",
    );
    code = 1;
  }
  await processIO.flush!(EXIT_FLUSH_MS);
  Deno.exit(code);
}
