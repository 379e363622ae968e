/**
 * The CLI's session features, hung off the {@linkcode Lifecycle}: access logs and recordings
 * (opened with each config, flushed on reload, reopened on SIGUSR1, closed at exit), hex dumps,
 * `--exit-after`, and the `--ready-file`.
 *
 * @module
 */
import type { Config } from "../config/types.ts";
import type { Lifecycle, LifecycleHooks } from "../lifecycle/lifecycle.ts";
import type { WorkerAsk, WorkerSide } from "../lifecycle/worker_thread.ts";
import type { Logger } from "../log/logger.ts";
import type { Invocation } from "./args.ts";
import { checkReadyFile, readyListeners, removeReadyFile, writeReadyFile } from "./ready_file.ts";
import { openSessionFile, SessionLogs } from "../log/session_logs.ts";
import { sessions } from "../server/shutdown_progress.ts";

/** `--ready-file`: the addresses bound for `config`'s listeners, written atomically. */
function writeReady(path: string, config: Config, addrs: Deno.Addr[]): void {
  const listens = config.servers.flatMap((s) => s.listen);
  writeReadyFile(path, { pid: Deno.pid, listeners: readyListeners(addrs, listens) });
}

/** What a worker thread needs of the flags (`LifecycleOptions.workerData`): plain data. */
export interface SessionWorkerData {
  /** `--record FILE`. */
  record?: string;
  /** `--debug-hexdump`. */
  hexdump?: boolean;
}

/** The flags a worker thread needs, as `workerData`. */
export function sessionWorkerData(inv: Invocation): SessionWorkerData {
  return {
    ...(inv.record !== undefined ? { record: inv.record } : {}),
    ...(inv.debugHexdump ? { hexdump: true } : {}),
  };
}

/**
 * A worker thread's twin of {@linkcode sessionHooks} (`worker_processes N`): what must run
 * where the session runs. It records its own sessions into the recording files (appending whole
 * lines, as the main thread does to the same files) and dumps them in hex; its sessions' ends
 * reach the main thread, which writes the access log lines and counts `--exit-after`.
 */
export function sessionWorkerSide(data: unknown, ask: WorkerAsk): WorkerSide {
  const flags = (data ?? {}) as SessionWorkerData;
  const logs = new SessionLogs({
    openSink: (path, tuning) => openSessionFile(path, tuning, ask.logger),
    logger: ask.logger,
    accessLogs: false,
    ...(flags.record !== undefined ? { record: flags.record } : {}),
    ...(flags.hexdump ? { hexdump: true } : {}),
  });
  return {
    observer: logs.observer,
    prepare: (config) => logs.open(config),
    abandoned: (config) => logs.abandon(config),
    reloaded: (config) => logs.retire(config),
    reopen: () => logs.reopen(),
    exiting: () => logs.close(),
  };
}

/**
 * The hooks for `inv`'s flags and the configs' `access_log` / `echo_record`. `life` is the
 * lifecycle they are handed to (asked for lazily: it is built with these hooks).
 */
export function sessionHooks(inv: Invocation, life: () => Lifecycle): LifecycleHooks {
  // The error log of the current generation, whichever it is when a line is written.
  const logger: Logger = {
    enabled: (level) => life().logger.enabled(level),
    log: (level, message, ctx) => life().logger.log(level, message, ctx),
  };
  const logs = new SessionLogs({
    openSink: (path, tuning) => openSessionFile(path, tuning, logger),
    logger,
    ...(inv.record !== undefined ? { record: inv.record } : {}),
    ...(inv.debugHexdump ? { hexdump: true } : {}),
    ...(inv.exitAfter !== undefined ? { exitAfter: inv.exitAfter } : {}),
    onLimit: () =>
      life().stop(
        "graceful",
        `${
          sessions(inv.exitAfter!)
        } finished (--exit-after ${inv.exitAfter}), gracefully shutting down`,
      ),
  });
  let started = false;
  return {
    observer: logs.observer,
    async prepare(config) {
      if (!started && inv.readyFile !== undefined) checkReadyFile(inv.readyFile);
      await logs.open(config);
    },
    abandoned: (config) => logs.abandon(config),
    started(addrs) {
      started = true;
      if (inv.debugHexdump && !logger.enabled("debug")) {
        logger.log("warn", "--debug-hexdump shows nothing: no error log is at level debug");
      }
      const config = life().config;
      if (inv.readyFile !== undefined && config) writeReady(inv.readyFile, config, addrs);
    },
    async reloaded(config) {
      await logs.retire(config);
      if (inv.readyFile !== undefined) writeReady(inv.readyFile, config, life().addrs);
    },
    reopen: () => logs.reopen(),
    async exiting() {
      if (inv.readyFile !== undefined) removeReadyFile(inv.readyFile);
      await logs.close();
    },
  };
}
