/**
 * `worker_processes N | auto`: N workers accepting on the same listeners, behaving as one
 * server. Worker 0 is the main thread itself; workers 1..N-1 are threads (Deno Workers) that
 * load the program's own entry module again (so the bundle and the compiled binary carry
 * them). Every TCP listener is opened with `reusePort`, so the kernel spreads new connections
 * over the workers' sockets; a Unix listener is served by the main thread alone.
 *
 * The main thread keeps everything that belongs to the process: signals, the pid file, the
 * error log (workers hand it their lines), config generations. A reload is applied to the main
 * thread first (it resolves `listen ...:0` to a port), then to each worker with those ports.
 *
 * @module
 */
import type { Config, Listen } from "../config/types.ts";
import { LOG_LEVELS, type Logger, type LogLevel } from "../log/logger.ts";
import { reusePortForWorkers, unstableNet } from "../server/listeners.ts";
import { startServer } from "../server/server.ts";
import { ShutdownProgress } from "../server/shutdown_progress.ts";
import type { RunningServer, ServerHandle, SessionObserver } from "../server/types.ts";
import { connectionCounter, connectionIds } from "./connection_ids.ts";
import { type FromWorker, type ToWorker, WORKER_NAME } from "./worker_protocol.ts";

/** A worker number that dies more often than this within the window is not restarted again. */
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 10_000;

/** Configs kept for sessions that began before the last reloads (older ones: the newest). */
const KEPT_GENERATIONS = 16;

/** Most workers `worker_processes` may ask for (more threads than this only cost memory). */
export const MAX_WORKERS = 64;

/** The servers of a process: one, or one per worker. */
export interface ServerGroup extends ServerHandle {
  /** How many workers serve (1: the main thread alone). */
  readonly workers: number;
  /** Tell the workers the error log's level changed (after a reload or reopen). */
  refreshLogLevel(): void;
  /** SIGUSR1: tell the workers to reopen their own files. */
  reopen(): void;
}

/** Options for {@linkcode startServerGroup}. */
export interface ServerGroupOptions {
  /** The error log (workers' lines end up here too). */
  logger: Logger;
  /** How many workers; 1 serves from the main thread alone. */
  workers: number;
  /** The module each worker thread loads (the program's entry). Required when workers > 1. */
  workerModule?: string | URL;
  /** Handed to each worker thread's hooks (see runWorkerThread). */
  workerData?: unknown;
  /** The main thread's session observer. */
  observer?: SessionObserver;
  /** Called once the main thread's listeners are bound. */
  onListen?: (addrs: Deno.Addr[]) => void;
  /** A worker-side hook asks the process to stop. */
  onStopRequest?: (how: "fast" | "graceful", why?: string) => void;
}

/** `auto` is the number of CPUs; a number is kept, up to {@linkcode MAX_WORKERS}. */
export function workerCount(
  setting: number | "auto",
  cpus: number = navigator.hardwareConcurrency,
): number {
  const n = setting === "auto" ? cpus : setting;
  return Math.max(1, Math.min(MAX_WORKERS, Math.floor(n) || 1));
}

/**
 * Why several workers cannot share a port here, or undefined when they can: `reusePort`
 * spreads connections over sockets only on Linux, and Deno offers it only with
 * `--unstable-net`.
 */
export function reusePortMissing(os: typeof Deno.build.os = Deno.build.os): string | undefined {
  if (os !== "linux") return `reusePort spreads connections over sockets only on Linux`;
  if (!unstableNet()) return "reusePort needs Deno's --unstable-net flag";
  try {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort: true });
    probe.close();
    return undefined;
  } catch (err) {
    return `reusePort is not available (${err instanceof Error ? err.message : err})`;
  }
}

/**
 * How many workers serve `config`, and the notices that say why not `worker_processes`: more
 * than {@linkcode MAX_WORKERS}; `missing()` (why workers cannot share a port here, or
 * undefined) says no; no TCP listener to share. Unix listeners are named: one worker serves them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { chooseWorkers } from "./workers.ts";
 * import { parseConfig } from "../config/loader.ts";
 * const config = parseConfig("worker_processes 2; stream { server { listen 127.0.0.1:0; echo a; } }");
 * assert.deepEqual(chooseWorkers(config, () => undefined), { count: 2, notices: [] });
 * ```
 */
export function chooseWorkers(
  config: Config,
  missing: () => string | undefined,
): { count: number; notices: string[] } {
  const setting = config.main.workerProcesses;
  const wanted = workerCount(setting);
  const notices: string[] = [];
  if (typeof setting === "number" && setting > wanted) {
    notices.push(
      `"worker_processes" is ${setting}: ${wanted} workers serve, the most there can be`,
    );
  }
  if (wanted === 1) return { count: 1, notices };
  const listens = config.servers.flatMap((s) => s.listen);
  const why = missing() ??
    (listens.some((l) => l.kind === "tcp") ? undefined : "no TCP listener can be shared");
  if (why !== undefined) {
    notices.push(`"worker_processes" is ${wanted}, but ${why}: one worker serves`);
    return { count: 1, notices };
  }
  for (const l of listens) {
    if (l.kind !== "unix") continue;
    notices.push(
      `"listen ${l.address}" is served by one worker (a socket file has one listener) ` +
        `in ${l.pos.file}:${l.pos.line}`,
    );
  }
  return { count: wanted, notices };
}

/**
 * The config every worker serves: each TCP listener opened with `reusePort` (the main thread's
 * first checks that no other process holds the port: {@linkcode reusePortForWorkers}).
 */
export function sharedPorts(config: Config): Config {
  return mapListens(config, (l) => l.kind === "tcp" ? reusePortForWorkers(l) : l);
}

/**
 * The config a worker thread serves: the main thread's, with each TCP listener's port the one
 * the main thread bound (so `listen 127.0.0.1:0` is one port for all), and without Unix
 * listeners (one socket file can have only one listener).
 */
export function workerConfig(config: Config, bound: readonly Deno.Addr[]): Config {
  let i = 0;
  return mapListens(config, (l) => {
    const addr = bound[i++];
    if (l.kind === "unix") return undefined;
    const port = addr?.transport === "tcp" ? addr.port : l.port;
    return { ...l, port };
  });
}

function mapListens(config: Config, f: (l: Listen) => Listen | undefined): Config {
  return {
    ...config,
    servers: config.servers.map((s) => ({
      ...s,
      listen: s.listen.map(f).filter((l): l is Listen => l !== undefined),
    })),
  };
}

/** The lowest level `logger` writes (what workers need to know to skip building lines). */
export function lowestLevel(logger: Logger): LogLevel {
  return LOG_LEVELS.find((l) => logger.enabled(l)) ?? "emerg";
}

/**
 * Starts the servers of a process: the main thread's, then (when `workers` > 1) the worker
 * threads on the ports the main thread bound. Rejects, with everything closed again, when any
 * of them cannot start.
 */
export async function startServerGroup(
  config: Config,
  options: ServerGroupOptions,
): Promise<ServerGroup> {
  const n = options.workers;
  const ids = connectionCounter();
  const local = await startServer(n > 1 ? sharedPorts(config) : config, {
    logger: options.logger,
    ...(options.observer ? { observer: options.observer } : {}),
    ...(options.onListen ? { onListen: options.onListen } : {}),
    ...(n > 1 ? { connectionIds: connectionIds(ids), stopProgress: false } : {}),
  });
  if (n === 1) return new SingleServer(local);
  const group = new WorkerGroup(local, config, options, ids);
  try {
    await group.spawn(workerConfig(sharedPorts(config), local.addrs));
  } catch (err) {
    group.terminate();
    await local.close();
    throw err;
  }
  return group;
}

/** One worker: the main thread's server, as a group. */
class SingleServer implements ServerGroup {
  readonly #server: RunningServer;
  readonly workers = 1;
  readonly finished: Promise<void>;

  constructor(server: RunningServer) {
    this.#server = server;
    this.finished = server.finished;
  }

  get addrs(): Deno.Addr[] {
    return this.#server.addrs;
  }

  refreshLogLevel(): void {}

  reopen(): void {}

  shutdown(): Promise<void> {
    return this.#server.shutdown();
  }

  close(): Promise<void> {
    return this.#server.close();
  }

  reload(config: Config): Promise<void> {
    return this.#server.reload(config);
  }

  /** Fast, like every server handle (see ServerHandle): `await using` never waits for sessions. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A worker thread as the main thread sees it. */
interface Remote {
  index: number;
  worker: Worker;
  /** Sessions in flight, as last reported during a stop. */
  sessions: number;
  /** Set once it has stopped (or died). */
  isDone: boolean;
  /** Terminates the thread and marks it done. */
  done: () => void;
  accepted: number;
  /** How many times this worker number was restarted before this thread. */
  restarts: number;
  /** Replies awaited, by kind. */
  waiting: Map<string, (m: FromWorker) => void>;
}

/** The main thread's server plus worker threads. */
class WorkerGroup implements ServerGroup {
  readonly #local: RunningServer;
  readonly #options: ServerGroupOptions;
  readonly #remotes: Remote[] = [];
  #level: LogLevel;
  #reloadId = 0;
  #stopping: "fast" | "graceful" | undefined;
  #progress: ShutdownProgress | undefined;
  readonly finished: Promise<void>;
  #resolveFinished!: () => void;
  #localDone = false;
  /** When each worker number died lately. */
  readonly #deaths = new Map<number, number[]>();
  /** The config the workers serve now (ports resolved), for a worker that restarts. */
  #workerConfig: Config | undefined;
  /** The configs workers may still report sessions of, by generation (the last few). */
  readonly #generations = new Map<number, Config>();
  #generation = 1;

  /** The connection-number counter every thread takes from (connection_ids.ts). */
  readonly #ids: SharedArrayBuffer;

  constructor(
    local: RunningServer,
    config: Config,
    options: ServerGroupOptions,
    ids: SharedArrayBuffer,
  ) {
    this.#local = local;
    this.#ids = ids;
    this.#options = options;
    this.#level = lowestLevel(options.logger);
    this.#generations.set(1, config);
    this.finished = new Promise((r) => this.#resolveFinished = r);
    void local.finished.then(() => {
      this.#localDone = true;
      this.#checkFinished();
    });
  }

  get workers(): number {
    return this.#options.workers;
  }

  get addrs(): Deno.Addr[] {
    return this.#local.addrs;
  }

  #checkFinished(): void {
    if (!this.#localDone || !this.#remotes.every((r) => r.isDone)) return;
    this.#ended();
    this.#resolveFinished();
  }

  /** Starts workers 1..n-1 on `config`; rejects when one cannot start. */
  async spawn(config: Config): Promise<void> {
    this.#workerConfig = config;
    const starts: Promise<void>[] = [];
    for (let index = 1; index < this.#options.workers; index++) {
      const remote = this.#spawnOne(index, 0);
      this.#remotes.push(remote);
      starts.push(
        this.#startOne(remote).then((reply) => {
          if (reply.type === "failed") throw new Error(`worker ${index}: ${reply.message}`);
        }),
      );
    }
    await Promise.all(starts);
  }

  #startOne(remote: Remote): Promise<FromWorker> {
    return this.#request(remote, "started", {
      type: "start",
      config: this.#workerConfig!,
      index: remote.index,
      ids: this.#ids,
      level: this.#level,
      generation: this.#generation,
      forwardEnded: this.#options.observer?.ended !== undefined,
      ...(this.#options.workerData !== undefined ? { data: this.#options.workerData } : {}),
    });
  }

  /**
   * A worker thread died (an uncaught error): start another in its place with the current
   * config, unless the process is stopping or that worker number already died
   * {@linkcode MAX_RESTARTS} times in the last {@linkcode RESTART_WINDOW_MS} (a crash loop).
   */
  #restart(dead: Remote): void {
    if (this.#stopping) return;
    const logger = this.#options.logger;
    const now = performance.now();
    const recent = (this.#deaths.get(dead.index) ?? []).filter((t) => now - t < RESTART_WINDOW_MS);
    recent.push(now);
    this.#deaths.set(dead.index, recent);
    if (recent.length > MAX_RESTARTS) {
      logger.log(
        "alert",
        `worker ${dead.index} is not restarted: it failed ${recent.length} times in ` +
          `${RESTART_WINDOW_MS / 1000} s`,
      );
      return;
    }
    const remote = this.#spawnOne(dead.index, dead.restarts + 1);
    this.#remotes[this.#remotes.indexOf(dead)] = remote;
    void this.#startOne(remote).then((reply) => {
      if (reply.type === "failed") {
        logger.log("alert", `worker ${dead.index} could not restart: ${reply.message}`);
        remote.done();
      } else {
        logger.log("notice", `worker ${dead.index} restarted`);
        if (this.#stopping) {
          remote.worker.postMessage({ type: "stop", how: this.#stopping } as ToWorker);
        }
      }
    });
  }

  /** Ends every worker thread at once (a failed start). */
  terminate(): void {
    for (const r of this.#remotes) r.done();
  }

  reopen(): void {
    for (const r of this.#remotes) r.worker.postMessage({ type: "reopen" } as ToWorker);
  }

  refreshLogLevel(): void {
    const level = lowestLevel(this.#options.logger);
    if (level === this.#level) return;
    this.#level = level;
    for (const r of this.#remotes) r.worker.postMessage({ type: "level", level } as ToWorker);
  }

  async reload(config: Config): Promise<void> {
    const shared = sharedPorts(config);
    await this.#local.reload(shared); // rejects: nothing changed anywhere
    const generation = ++this.#generation;
    this.#generations.set(generation, config);
    this.#generations.delete(generation - KEPT_GENERATIONS);
    const forWorkers = this.#workerConfig = workerConfig(shared, this.#local.addrs);
    await Promise.all(this.#remotes.map(async (r) => {
      const id = ++this.#reloadId;
      const reply = await this.#request(r, "reloaded", {
        type: "reload",
        id,
        config: forWorkers,
        generation,
      });
      if (reply.type === "reload-failed") {
        this.#options.logger.log(
          "alert",
          `worker ${r.index} could not reload (${reply.message}): it keeps serving the previous configuration`,
        );
      }
    }));
  }

  shutdown(): Promise<void> {
    return this.#stop("graceful");
  }

  close(): Promise<void> {
    return this.#stop("fast");
  }

  /** Fast, like every server handle (see ServerHandle): `await using` never waits for sessions. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #stop(how: "fast" | "graceful"): Promise<void> {
    if (this.#stopping === "fast" || this.#stopping === how) return this.finished;
    const first = this.#stopping === undefined;
    this.#stopping = how;
    if (how === "fast") this.#progress?.end();
    for (const r of this.#remotes) r.worker.postMessage({ type: "stop", how } as ToWorker);
    if (how === "graceful" && first) {
      // One total for all workers: the main thread's sessions plus those the workers report.
      const progress = this.#progress = new ShutdownProgress(
        this.#options.logger,
        () => this.#local.sessionCount + this.#remotes.reduce((n, r) => n + r.sessions, 0),
      );
      this.#local.onSessionEnded = () => progress.changed();
      // The workers report their counts as soon as they see the stop.
      const counted = Promise.all(this.#remotes.map((r) => this.#next(r, "sessions")));
      void Promise.race([counted, delay(200)]).then(() => {
        if (this.#stopping === "graceful") progress.begin();
      });
    }
    void (how === "fast" ? this.#local.close() : this.#local.shutdown());
    return this.finished;
  }

  #ended(): void {
    this.#progress?.end();
    const counts = [this.#local.accepted, ...this.#remotes.map((r) => r.accepted)];
    this.#options.logger.log(
      "notice",
      `workers accepted ${counts.map((c, i) => `${c} (worker ${i})`).join(", ")} connections`,
    );
  }

  #spawnOne(index: number, restarts: number): Remote {
    const worker = new Worker(this.#options.workerModule!, {
      type: "module",
      name: `${WORKER_NAME} ${index}`,
    });
    const remote: Remote = {
      index,
      worker,
      sessions: 0,
      isDone: false,
      done: () => {},
      accepted: 0,
      restarts,
      waiting: new Map(),
    };
    remote.done = () => {
      if (remote.isDone) return;
      remote.isDone = true;
      worker.terminate();
      this.#checkFinished();
    };
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.#received(remote, e.data);
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#options.logger.log("alert", `worker ${index} failed: ${e.message}`);
      remote.sessions = 0;
      for (const settle of remote.waiting.values()) {
        settle({ type: "failed", message: e.message });
      }
      remote.waiting.clear();
      this.#restart(remote);
      remote.done();
      this.#progress?.changed();
    };
    return remote;
  }

  #received(remote: Remote, m: FromWorker): void {
    switch (m.type) {
      case "logs":
        for (const [level, message, ctx] of m.lines) this.#options.logger.log(level, message, ctx);
        return;
      case "sessions":
        remote.sessions = m.count;
        this.#progress?.changed();
        break;
      case "finished":
        remote.accepted = m.accepted;
        remote.sessions = 0;
        remote.done();
        break;
      case "stop":
        this.#options.onStopRequest?.(m.how, m.why);
        return;
      case "ended": {
        // The session's server block, from the config it began under (as SessionInfo.server).
        const config = this.#generations.get(m.generation) ??
          this.#generations.get(this.#generation)!;
        const info = { ...m.info, server: config.servers[m.info.serverIndex] };
        try {
          this.#options.observer?.ended?.(
            info,
            m.result,
            m.startedAt,
            m.endedAt,
          );
        } catch (err) {
          this.#options.logger.log(
            "alert",
            `session observer failed: ${err instanceof Error ? err.message : err}`,
          );
        }
        return;
      }
      default:
        break;
    }
    const kind = m.type === "failed" ? "started" : m.type === "reload-failed" ? "reloaded" : m.type;
    const settle = remote.waiting.get(kind);
    if (settle) {
      remote.waiting.delete(kind);
      settle(m);
    }
  }

  /** Posts `message` and resolves with the worker's reply of kind `kind`. */
  #request(remote: Remote, kind: string, message: ToWorker): Promise<FromWorker> {
    const reply = this.#next(remote, kind);
    remote.worker.postMessage(message);
    return reply;
  }

  /** The worker's next message of kind `kind`. */
  #next(remote: Remote, kind: string): Promise<FromWorker> {
    return new Promise((resolve) => remote.waiting.set(kind, resolve));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
