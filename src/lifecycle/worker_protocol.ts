/**
 * The messages between the main thread and its worker threads (`worker_processes N`). Every
 * message is plain, structured-cloneable data: a {@linkcode Config} is sent as it is (configs
 * are plain data by design: no functions, no class instances).
 *
 * @module
 */
import type { Config, LogLevel } from "../config/types.ts";
import type { LogContext } from "../log/logger.ts";
import type { SessionResult } from "../engine/types.ts";
import type { SessionInfo } from "../server/types.ts";

/** Main thread → worker. */
export type ToWorker =
  | {
    type: "start";
    /** The config to serve; its TCP listeners carry the ports the main thread bound. */
    config: Config;
    /** This worker's number (0 is the main thread, so 1..n-1). */
    index: number;
    /** The process's connection-number counter, shared by every worker (connection_ids.ts). */
    ids: SharedArrayBuffer;
    /** The lowest level any error log writes. */
    level: LogLevel;
    /** Whatever the process's hooks give their worker-side twin (LifecycleOptions.workerData). */
    data?: unknown;
    /** The config generation (1, 2, ... per good reload): `ended` reports carry it. */
    generation: number;
    /** Send an `ended` report per session (the main thread's observer wants them). */
    forwardEnded: boolean;
  }
  | { type: "reload"; id: number; config: Config; generation: number }
  | { type: "level"; level: LogLevel }
  | { type: "reopen" }
  | { type: "stop"; how: "fast" | "graceful" };

/** One log line a worker hands to the main thread's error log. */
export type LogRecord = [level: LogLevel, message: string, ctx?: LogContext];

/** Worker → main thread. */
export type FromWorker =
  | { type: "started"; addrs: Deno.Addr[] }
  | { type: "failed"; message: string }
  | { type: "reloaded"; id: number }
  | { type: "reload-failed"; id: number; message: string }
  | { type: "logs"; lines: LogRecord[] }
  /** Sent when a stop begins, then after each session that ends while stopping. */
  | { type: "sessions"; count: number }
  | { type: "finished"; accepted: number }
  /** A session ended (when `forwardEnded`): for the main thread's observer (access log, counts). */
  | {
    type: "ended";
    generation: number;
    info: Omit<SessionInfo, "server">;
    result: SessionResult;
    startedAt: number;
    endedAt: number;
  }
  /** A worker-side hook asks the whole process to stop (e.g. after N sessions). */
  | { type: "stop"; how: "fast" | "graceful"; why?: string };

/** The name every worker thread is given (`stream-echo worker N`). */
export const WORKER_NAME = "stream-echo worker";

/**
 * Is this code running in one of stream-echo's worker threads? The CLI's entry module is
 * loaded again as each worker (so the bundle and the compiled binary carry the worker code
 * without a second entry point) and asks this to know which part to run.
 */
export function isWorkerThread(): boolean {
  const g = globalThis as { WorkerGlobalScope?: unknown; name?: unknown };
  return g.WorkerGlobalScope !== undefined && typeof g.name === "string" &&
    g.name.startsWith(WORKER_NAME);
}
