/**
 * `stream-echo serve`: load the config, open the error log and pid file, bind the listeners,
 * then follow nginx's signals until told to stop.
 *
 * @module
 */
import type { Config } from "../config/types.ts";
import { formatLogLine } from "../log/logger.ts";
import type { ServerHandle } from "../server/types.ts";
import { startServer } from "../server/server.ts";
import { formatAddr } from "../server/listeners.ts";
import type { Invocation } from "./args.ts";
import { DEFAULT_CONFIG_NAME } from "./default_config.ts";
import { chooseTargets, type ErrorLogs, openErrorLogs, SwitchableLogger } from "./error_log.ts";
import { loadCliConfig } from "./load.ts";
import { type PidFile, writePidFile } from "./pid_file.ts";

/** Where the CLI writes its output (injectable, so `main()` can run inside a test). */
export interface CliIO {
  /** Normal output (help, version). */
  stdout(text: string): void;
  /** Usage errors, check results and, by default, the error log. */
  stderr(text: string): void;
  /** Waits (at most `timeoutMs`) until stdout and stderr have written what they hold. */
  flush?(timeoutMs?: number): Promise<boolean>;
}

/** A fast shutdown must end the process within a second, whatever sessions are doing. */
const FAST_EXIT_MS = 800;
/** At exit, how long the log files may take to write what they hold (a stalled disk). */
export const EXIT_FLUSH_MS = 500;

type Stop = "fast" | "graceful";

/**
 * Runs the server until SIGTERM/SIGINT (fast) or SIGQUIT (graceful); SIGHUP reloads. Resolves
 * to the exit code: 0 after a signal, 1 when the config, the error log, the pid file or a
 * listener fails at start.
 */
export async function serve(inv: Invocation, io: CliIO): Promise<number> {
  const fatal = (message: string, also?: SwitchableLogger) => {
    io.stderr(formatLogLine("emerg", message, undefined, new Date(), Deno.pid) + "\n");
    if (also && !logs?.toStderr) also.log("emerg", message);
  };
  let logs: ErrorLogs | undefined;

  let config: Config;
  try {
    config = loadCliConfig(inv.config);
  } catch (err) {
    fatal(message(err));
    return 1;
  }
  let current = config;
  const stderrSink = (line: string) => io.stderr(line);
  try {
    logs = openErrorLogs(chooseTargets(config.main.errorLog, inv), stderrSink);
  } catch (err) {
    fatal(message(err));
    return 1;
  }
  const logger = new SwitchableLogger(logs.logger);
  const name = inv.config ?? DEFAULT_CONFIG_NAME;
  if (inv.config === undefined) {
    logger.log("notice", "no --config given: serving the built-in default configuration");
  }
  logNotices(logger, config);

  let pidFile: PidFile | undefined;
  const pidPath = inv.pid ?? config.main.pid?.file;
  if (pidPath !== undefined) {
    try {
      pidFile = writePidFile(pidPath, inv.pid === undefined ? { pos: config.main.pid?.pos } : {});
    } catch (err) {
      fatal(message(err), logger);
      await logs.close();
      return 1;
    }
  }

  // Signal handlers go in before the listeners are bound: a signal that arrives as soon as
  // the "listening on" lines are out must find them (SIGHUP would otherwise kill the process).
  let handle: ServerHandle | undefined;
  let stopping: Stop | undefined;
  let forceExit: (() => void) | undefined;
  const forced = new Promise<void>((resolve) => forceExit = resolve);
  let forceTimer: ReturnType<typeof setTimeout> | undefined;
  let markStarted!: () => void;
  let reloading = new Promise<void>((resolve) => markStarted = resolve);

  const applyStop = () => {
    if (!handle || !stopping) return;
    if (stopping === "fast") {
      forceTimer ??= setTimeout(() => forceExit?.(), FAST_EXIT_MS);
      void handle.close();
    } else {
      void handle.shutdown();
    }
  };
  const stop = (how: Stop, signal: string) => {
    if (stopping === "fast" || (stopping === "graceful" && how === "graceful")) return;
    stopping = how;
    logger.log(
      "notice",
      how === "fast"
        ? `signal ${signal} received, exiting`
        : `signal ${signal} received, gracefully shutting down`,
    );
    applyStop();
  };
  const reload = () => {
    reloading = reloading.then(async () => {
      if (stopping || !handle) return;
      logger.log("notice", "signal SIGHUP received, reconfiguring");
      const next = await reloadOnce(inv, handle, logger, stderrSink);
      if (next) {
        const old = logs!;
        logs = next.logs;
        await old.close();
        current = next.config;
        logger.log("notice", `configuration reloaded from ${name}`);
      }
    });
  };
  // SIGUSR1, as in nginx: reopen the log files (after logrotate moved them away).
  const reopen = () => {
    reloading = reloading.then(async () => {
      if (stopping) return;
      logger.log("notice", "signal SIGUSR1 received, reopening logs");
      try {
        const next = openErrorLogs(chooseTargets(current.main.errorLog, inv), stderrSink);
        logger.current = next.logger;
        const old = logs!;
        logs = next;
        await old.close(); // lines logged before the signal end up in the old file
        logger.log("notice", "logs reopened");
      } catch (err) {
        logger.log("alert", `${message(err)}: still writing to the old log`);
      }
    });
  };
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGINT", () => stop("fast", "SIGINT")],
  ];
  if (Deno.build.os !== "windows") {
    handlers.push(
      ["SIGTERM", () => stop("fast", "SIGTERM")],
      ["SIGQUIT", () => stop("graceful", "SIGQUIT")],
      ["SIGHUP", reload],
      ["SIGUSR1", reopen],
    );
  } else {
    handlers.push(["SIGBREAK", () => stop("fast", "SIGBREAK")]);
  }
  for (const [sig, fn] of handlers) Deno.addSignalListener(sig, fn);
  // A last line of defence: a bug must not take every connection down with the process.
  const onUnhandled = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    const reason = e.reason instanceof Error ? e.reason.stack ?? e.reason.message : e.reason;
    logger.log("alert", `unhandled rejection (a bug, please report it): ${reason}`);
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  const removeHandlers = () => {
    for (const [sig, fn] of handlers) Deno.removeSignalListener(sig, fn);
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  };

  try {
    handle = await startServer(config, {
      logger,
      onListen: (addrs) => logListeners(logger, config, addrs),
    });
  } catch (err) {
    removeHandlers();
    fatal(message(err), logger);
    pidFile?.remove();
    await logs.close();
    return 1;
  }
  logger.log("notice", `stream-echo started with ${name} (pid ${Deno.pid})`);
  markStarted();
  applyStop();

  await Promise.race([handle.finished, forced]);
  clearTimeout(forceTimer);
  await Promise.race([reloading, forced]);
  removeHandlers();
  pidFile?.remove();
  logger.log("notice", "exit");
  await logs.close(EXIT_FLUSH_MS);
  return 0;
}

/** The config's notices, and what this runtime does differently from nginx. */
function logNotices(logger: SwitchableLogger, config: Config): void {
  for (const n of config.notices) {
    logger.log("notice", `${n.message} in ${n.pos.file}:${n.pos.line}`);
  }
  if (!config.servers.some((s) => s.listen.length > 0)) {
    logger.log("warn", 'no "listen" directive in the configuration: nothing is served');
  }
}

/** One line per listener: the address actually bound and the directive it came from. */
function logListeners(logger: SwitchableLogger, config: Config, addrs: Deno.Addr[]): void {
  const listens = config.servers.flatMap((s) => s.listen);
  addrs.forEach((addr, i) => {
    const l = listens[i];
    const from = l
      ? ` for "listen ${l.address}${l.ssl ? " ssl" : ""}" in ${l.pos.file}:${l.pos.line}`
      : "";
    logger.log("notice", `listening on ${formatAddr(addr)}${from}`);
  });
}

/**
 * Reads the config again and swaps it in. A bad config, an error log that cannot be opened or
 * a listener that cannot be bound is logged (with file:line) and the running config kept.
 * Returns the new config and error log sinks on success.
 */
async function reloadOnce(
  inv: Invocation,
  handle: ServerHandle,
  logger: SwitchableLogger,
  stderrSink: (line: string) => void,
): Promise<{ config: Config; logs: ErrorLogs } | undefined> {
  let config: Config;
  let next: ErrorLogs;
  try {
    config = loadCliConfig(inv.config);
    next = openErrorLogs(chooseTargets(config.main.errorLog, inv), stderrSink);
  } catch (err) {
    logger.log("emerg", message(err));
    logger.log("notice", "reload failed: still serving the previous configuration");
    return undefined;
  }
  try {
    await handle.reload(config);
  } catch (err) {
    next.close();
    logger.log("emerg", message(err));
    logger.log("notice", "reload failed: still serving the previous configuration");
    return undefined;
  }
  logger.current = next.logger;
  logNotices(logger, config);
  logListeners(logger, config, handle.addrs);
  return { config, logs: next };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
