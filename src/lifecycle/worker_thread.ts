/**
 * The worker side of `worker_processes N`: a worker thread runs one server on the main
 * thread's config (its TCP listeners share the main thread's ports through `reusePort`), hands
 * its log lines to the main thread's error log, and follows the main thread's reloads and
 * stops. Signals, the pid file and the log files belong to the main thread alone.
 *
 * @module
 */
import { atLeast, type Logger } from "../log/logger.ts";
import type { LogLevel } from "../config/types.ts";
import { startServer } from "../server/server.ts";
import type { RunningServer, SessionObserver } from "../server/types.ts";
import type { FromWorker, LogRecord, ToWorker } from "./worker_protocol.ts";

/** What the worker thread can build for itself from the main thread's `workerData`. */
export interface WorkerThreadOptions {
  /** A session observer for this worker (access log, recording), built from `data`. */
  observer?(data: unknown, ask: { stop(how: "fast" | "graceful", why?: string): void }):
    | SessionObserver
    | undefined;
}

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  close(): void;
  addEventListener(type: "unhandledrejection", fn: (e: PromiseRejectionEvent) => void): void;
}

/**
 * Serves as a worker thread until the main thread stops it. Call it from the entry module when
 * {@linkcode isWorkerThread} is true.
 */
export function runWorkerThread(options: WorkerThreadOptions = {}): void {
  const scope = globalThis as unknown as WorkerScope;
  const post = (m: FromWorker) => scope.postMessage(m);
  let threshold: LogLevel = "info";
  let batch: LogRecord[] = [];
  const flush = () => {
    if (batch.length === 0) return;
    const lines = batch;
    batch = [];
    post({ type: "logs", lines });
  };
  // Lines go to the main thread in batches, one message per turn of the event loop.
  const logger: Logger = {
    enabled: (level) => atLeast(level, threshold),
    log(level, message, ctx) {
      if (!atLeast(level, threshold)) return;
      batch.push(ctx === undefined ? [level, message] : [level, message, ctx]);
      if (batch.length === 1) queueMicrotask(flush);
    },
  };
  scope.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    const reason = e.reason instanceof Error ? e.reason.stack ?? e.reason.message : e.reason;
    logger.log("alert", `unhandled rejection (a bug, please report it): ${reason}`);
  });

  let server: RunningServer | undefined;
  let stopping = false;
  const reportSessions = () => post({ type: "sessions", count: server?.sessionCount ?? 0 });

  scope.onmessage = async (e) => {
    const m = e.data;
    switch (m.type) {
      case "start": {
        threshold = m.level;
        const ask = {
          stop: (how: "fast" | "graceful", why?: string) => post({ type: "stop", how, why }),
        };
        const observer = options.observer?.(m.data, ask);
        try {
          server = await startServer(m.config, {
            logger,
            connectionIds: { first: m.index + 1, step: m.count },
            stopProgress: false,
            ...(observer ? { observer } : {}),
          });
        } catch (err) {
          flush();
          post({ type: "failed", message: message(err) });
          return;
        }
        const running = server;
        void running.finished.then(() => {
          flush();
          post({ type: "finished", accepted: running.accepted });
        });
        post({ type: "started", addrs: running.addrs });
        return;
      }
      case "reload":
        try {
          await server!.reload(m.config);
          post({ type: "reloaded", id: m.id });
        } catch (err) {
          post({ type: "reload-failed", id: m.id, message: message(err) });
        }
        return;
      case "level":
        threshold = m.level;
        return;
      case "stop":
        if (!server) {
          post({ type: "finished", accepted: 0 });
          return;
        }
        if (!stopping) {
          stopping = true;
          server.onSessionEnded = reportSessions;
          reportSessions();
        }
        void (m.how === "fast" ? server.close() : server.shutdown());
        return;
    }
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
