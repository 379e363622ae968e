/**
 * The worker side of `worker_processes N`: a worker thread runs one server on the main
 * thread's config (its TCP listeners share the main thread's ports through `reusePort`), hands
 * its log lines to the main thread's error log, reports each ended session to the main thread's
 * observer when it has one (access log, session counts), and follows the main thread's reloads,
 * reopens and stops. Signals, the pid file and the error log files belong to the main thread.
 *
 * @module
 */
import type { Config, LogLevel, ServerConfig } from "../config/types.ts";
import { atLeast, type Logger } from "../log/logger.ts";
import { startServer } from "../server/server.ts";
import type { RunningServer, SessionObserver } from "../server/types.ts";
import { connectionIds } from "./connection_ids.ts";
import type { FromWorker, LogRecord, ToWorker } from "./worker_protocol.ts";

/** What a worker-side hook may ask of the whole process. */
export interface WorkerAsk {
  /** Stop every worker (e.g. `--exit-after` reached). */
  stop(how: "fast" | "graceful", why?: string): void;
  /** The error log (lines go to the main thread). */
  logger: Logger;
}

/** Worker-side twins of the process's hooks, for what must run where the session runs. */
export interface WorkerSide {
  /** Wraps this worker's sessions (recording taps, hex dumps); `ended` runs here too. */
  observer?: SessionObserver;
  /** Before the first config, and each reload's, serves (open this worker's files). */
  prepare?(config: Config): void | Promise<void>;
  /** A reload failed here after `prepare(config)`: close what it opened. */
  abandoned?(config: Config): void | Promise<void>;
  /** A reload succeeded here. */
  reloaded?(config: Config): void | Promise<void>;
  /** SIGUSR1: reopen this worker's files. */
  reopen?(): void | Promise<void>;
  /** This worker has stopped: flush and close its files. */
  exiting?(): void | Promise<void>;
}

/** Options for {@linkcode runWorkerThread}. */
export interface WorkerThreadOptions {
  /** Builds this worker's hooks from the main thread's `workerData`. */
  setup?(data: unknown, ask: WorkerAsk): WorkerSide | undefined;
}

interface WorkerScope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  addEventListener(type: "unhandledrejection", fn: (e: PromiseRejectionEvent) => void): void;
}

/**
 * Serves as a worker thread until the main thread stops it. Call it from the entry module when
 * `isWorkerThread()` is true.
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
  const hook = async (fn: () => void | Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      logger.log("alert", `worker hook failed: ${message(err)}`);
    }
  };

  let server: RunningServer | undefined;
  let side: WorkerSide | undefined;
  let stopping = false;
  let generation = 0;
  /** Which generation each server block came with (sessions report the one they began in). */
  const generationOf = new WeakMap<ServerConfig, number>();
  const learn = (config: Config, g: number) => {
    generation = g;
    for (const s of config.servers) generationOf.set(s, g);
  };
  const reportSessions = () => post({ type: "sessions", count: server?.sessionCount ?? 0 });

  scope.onmessage = async (e) => {
    const m = e.data;
    switch (m.type) {
      case "start": {
        threshold = m.level;
        learn(m.config, m.generation);
        side = options.setup?.(m.data, {
          stop: (how, why) => post({ type: "stop", how, why }),
          logger,
        });
        const observer = compose(side?.observer, m.forwardEnded ? forwarder() : undefined);
        try {
          if (side?.prepare) await side.prepare(m.config);
          server = await startServer(m.config, {
            logger,
            connectionIds: connectionIds(m.ids),
            stopProgress: false,
            ...(observer ? { observer } : {}),
          });
        } catch (err) {
          flush();
          post({ type: "failed", message: message(err) });
          return;
        }
        const running = server;
        void running.finished.then(async () => {
          if (side?.exiting) await hook(() => side!.exiting!());
          flush();
          post({ type: "finished", accepted: running.accepted });
        });
        post({ type: "started", addrs: running.addrs });
        return;
      }
      case "reload":
        try {
          if (side?.prepare) await side.prepare(m.config);
        } catch (err) {
          post({ type: "reload-failed", id: m.id, message: message(err) });
          return;
        }
        try {
          await server!.reload(m.config);
        } catch (err) {
          if (side?.abandoned) await hook(() => side!.abandoned!(m.config));
          post({ type: "reload-failed", id: m.id, message: message(err) });
          return;
        }
        learn(m.config, m.generation);
        if (side?.reloaded) await hook(() => side!.reloaded!(m.config));
        post({ type: "reloaded", id: m.id });
        return;
      case "level":
        threshold = m.level;
        return;
      case "reopen":
        if (side?.reopen) await hook(() => side!.reopen!());
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

  /** Reports each ended session to the main thread's observer. */
  function forwarder(): SessionObserver {
    return {
      ended(info, result, startedAt, endedAt) {
        const { server: block, ...plain } = info as typeof info & { server?: ServerConfig };
        post({
          type: "ended",
          generation: (block && generationOf.get(block)) ?? generation,
          info: plain,
          result,
          startedAt,
          endedAt,
        });
      },
    };
  }
}

/** One observer doing what `a` then `b` do (either may be absent). */
function compose(
  a: SessionObserver | undefined,
  b: SessionObserver | undefined,
): SessionObserver | undefined {
  if (!a || !b) return a ?? b;
  return {
    ...(a.wrap ? { wrap: a.wrap.bind(a) } : {}),
    ended(info, result, startedAt, endedAt) {
      try {
        a.ended?.(info, result, startedAt, endedAt);
      } finally {
        b.ended?.(info, result, startedAt, endedAt);
      }
    },
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
