/**
 * The lifecycle of a serving process, in one object: config generations (load, reload, keep
 * the old one when the new one is bad), the error logs (open, reopen, flush at exit), the pid
 * file, the signals, and the server(s) that do the work. The CLI's `serve` is a thin shell over
 * it; features that hang off the process (a ready file, an access log, an exit after N
 * sessions) plug in through {@linkcode LifecycleHooks}.
 *
 * States: created → starting → serving → stopping → exited. Signals are listened for from the
 * start, so a signal that arrives while the listeners are being bound is acted on once they are.
 *
 * @module
 */
import type { Config } from "../config/types.ts";
import {
  formatJsonLogLine,
  formatLogLine,
  type Logger,
  type LogLevel,
  type LogLineFormat,
} from "../log/logger.ts";
import { formatAddr } from "../server/listeners.ts";
import type { SessionObserver } from "../server/types.ts";
import { resetUnavailable, resetWarnings } from "../server/reset_support.ts";
import { DEFAULT_CONFIG_NAME } from "../cli/default_config.ts";
import {
  chooseTargets,
  type ErrorLogs,
  openErrorLogs,
  SwitchableLogger,
} from "../cli/error_log.ts";
import { loadCliConfig } from "../cli/load.ts";
import { type PidFile, writePidFile } from "../cli/pid_file.ts";
import { listenForSignals } from "./signals.ts";
import {
  chooseWorkers,
  reusePortMissing,
  type ServerGroup,
  startServerGroup,
  workerCount,
} from "./workers.ts";

/** A fast shutdown must end the process within a second, whatever sessions are doing. */
export const FAST_EXIT_MS = 800;
/** At exit, how long the log files may take to write what they hold (a stalled disk). */
export const EXIT_FLUSH_MS = 500;

/** How a stop goes: "fast" ends every session now; "graceful" lets them finish. */
export type StopMode = "fast" | "graceful";

/** Features that hang off the lifecycle. Every hook is optional and may be async. */
export interface LifecycleHooks {
  /** Watches or wraps every session (access log, recording); set once, used by every worker. */
  observer?: SessionObserver;
  /**
   * A config is about to serve: at start (before the listeners are bound) and on reload (before
   * it is swapped in). Open what it needs here; throwing fails the start (exit 1) or the reload
   * (the old config keeps serving), with the error's message.
   */
  prepare?(config: Config): void | Promise<void>;
  /**
   * `prepare(config)` succeeded but the reload failed afterwards (an address that cannot be
   * bound): close what it opened for `config`; the running config's files stay open.
   */
  abandoned?(config: Config): void | Promise<void>;
  /** The listeners are bound and `stream-echo started` is logged. */
  started?(addrs: Deno.Addr[]): void | Promise<void>;
  /** A reload succeeded; `config` now serves new connections. */
  reloaded?(config: Config): void | Promise<void>;
  /** SIGUSR1: the error logs were reopened; reopen your own files too. */
  reopen?(): void | Promise<void>;
  /** The server has stopped; flush and close your files (the error log closes after this). */
  exiting?(): void | Promise<void>;
}

/** Options for {@linkcode Lifecycle}. */
export interface LifecycleOptions {
  /** The config file; undefined serves the built-in default. */
  config?: string;
  /** `--error-log FILE|stderr`: replaces every `error_log` of the config. */
  errorLog?: string;
  /** `--log-level LEVEL`: the level of every error log. */
  logLevel?: LogLevel;
  /** `--pid FILE`: replaces the config's `pid`. */
  pid?: string;
  /** `--log-format nginx|json`: the error log's line format. @default {"nginx"} */
  logFormat?: LogLineFormat;
  /** The process's stderr (a non-blocking sink): fatal errors, and the default error log. */
  stderr(line: string): void;
  /** Features that hang off the lifecycle. */
  hooks?: LifecycleHooks;
  /**
   * The module a worker thread loads for `worker_processes N` (the program's entry module,
   * which runs `runWorkerThread()` when it finds itself in a worker). Without it one worker
   * serves, with a notice.
   */
  workerModule?: string | URL;
  /** Handed to each worker thread's hooks (`runWorkerThread`'s `observer`). */
  workerData?: unknown;
}

/** One loaded config and the error logs it opened. */
interface Generation {
  /** 1 for the config loaded at start, +1 per good reload. */
  number: number;
  config: Config;
  logs: ErrorLogs;
}

/**
 * Runs a server process from a config file until a signal (or {@linkcode Lifecycle.stop}) ends
 * it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Lifecycle } from "./lifecycle.ts";
 * const config = Deno.makeTempFileSync({ suffix: ".conf" });
 * Deno.writeTextFileSync(config, "stream { server { listen 127.0.0.1:0; echo hi; } }\n");
 * const lines: string[] = [];
 * const life: Lifecycle = new Lifecycle({
 *   config,
 *   stderr: (line) => lines.push(line),
 *   hooks: {
 *     started() {
 *       life.stop("graceful", "the example is done");
 *     },
 *   },
 * });
 * const code = await life.run(); // 0 after a signal or stop(), 1 when the start failed
 * assert.equal(code, 0);
 * assert.ok(lines.some((l) => l.includes("the example is done")));
 * Deno.removeSync(config);
 * ```
 */
export class Lifecycle {
  readonly #options: LifecycleOptions;
  readonly #name: string;
  #generation: Generation | undefined;
  #logger: SwitchableLogger | undefined;
  #pidFile: PidFile | undefined;
  #server: ServerGroup | undefined;
  #stopping: StopMode | undefined;
  #forceTimer: ReturnType<typeof setTimeout> | undefined;
  #forceExit!: () => void;
  readonly #forced = new Promise<void>((resolve) => this.#forceExit = resolve);
  /** Reloads and reopens run one at a time, after the start. */
  #ops: Promise<void>;
  #markStarted!: () => void;
  #unlisten: (() => void) | undefined;

  /** A lifecycle that has not started; {@linkcode Lifecycle.run} runs it. */
  constructor(options: LifecycleOptions) {
    this.#options = options;
    this.#name = options.config ?? DEFAULT_CONFIG_NAME;
    this.#ops = new Promise<void>((resolve) => this.#markStarted = resolve);
  }

  /** The error log of the current generation (it follows reloads and reopens). */
  get logger(): Logger {
    return this.#logger ?? {
      enabled: () => true,
      log: (level, message) => this.#emerg(message, level),
    };
  }

  /** The config serving new connections, once started. */
  get config(): Config | undefined {
    return this.#generation?.config;
  }

  /** 1 for the config loaded at start, +1 per good reload; 0 before the start. */
  get generation(): number {
    return this.#generation?.number ?? 0;
  }

  /** Addresses actually bound (port 0 resolved), once started. */
  get addrs(): Deno.Addr[] {
    return this.#server?.addrs ?? [];
  }

  /**
   * Starts, serves until stopped, and cleans up. Resolves to the exit code: 0 after a stop,
   * 1 when the config, the error log, the pid file or a listener fails at start.
   */
  async run(): Promise<number> {
    const server = await this.#start();
    if (!server) return 1;
    await Promise.race([server.finished, this.#forced]);
    clearTimeout(this.#forceTimer);
    await Promise.race([this.#ops, this.#forced]);
    await this.#exit();
    return 0;
  }

  /**
   * Stops the server: "fast" ends sessions now (the process is gone within a second),
   * "graceful" lets them finish (capped by `worker_shutdown_timeout`). A fast stop overrides a
   * graceful one in progress; a repeated stop does nothing. `why` is logged at notice.
   */
  stop(how: StopMode, why?: string): void {
    if (this.#stopping === "fast" || (this.#stopping === "graceful" && how === "graceful")) return;
    this.#stopping = how;
    if (why) this.logger.log("notice", why);
    this.#applyStop();
  }

  /**
   * SIGHUP: reads the config again and swaps it in, keeping unchanged listeners. A bad config,
   * an error log that cannot be opened or an address that cannot be bound is logged (with
   * file:line) and the running config kept. Resolves to whether the new config serves.
   */
  reload(): Promise<boolean> {
    return this.#queue(async () => {
      if (this.#stopping || !this.#server || !this.#generation) return false;
      const logger = this.#logger!;
      logger.log("notice", "signal SIGHUP received, reconfiguring");
      let config: Config;
      let logs: ErrorLogs;
      try {
        config = loadCliConfig(this.#options.config);
        logs = this.#openLogs(config);
      } catch (err) {
        return this.#reloadFailed(err);
      }
      try {
        await this.#options.hooks?.prepare?.(config);
      } catch (err) {
        await logs.close();
        return this.#reloadFailed(err);
      }
      try {
        await this.#server.reload(config);
      } catch (err) {
        await logs.close();
        await this.#hook(() => this.#options.hooks?.abandoned?.(config));
        return this.#reloadFailed(err);
      }
      const old = this.#generation;
      this.#generation = { number: old.number + 1, config, logs };
      logger.current = logs.logger;
      this.#server.refreshLogLevel();
      const wanted = workerCount(config.main.workerProcesses);
      if (wanted !== this.#server.workers && this.#workersWanted !== wanted) {
        this.#workersWanted = wanted;
        logger.log(
          "notice",
          `"worker_processes" changed to ${wanted}: it takes effect when the server is restarted; ` +
            `${this.#server.workers} serve until then`,
        );
      }
      await old.logs.close(); // flushed: lines logged before the switch end up in the old files
      this.#logNotices(config);
      this.#logListeners(config, this.#server.addrs);
      logger.log("notice", `configuration reloaded from ${this.#name}`);
      await this.#hook(() => this.#options.hooks?.reloaded?.(config));
      return true;
    });
  }

  /**
   * SIGUSR1, as in nginx: reopens the error log files (after logrotate moved them away). Lines
   * logged before go to the old files, which are flushed and closed. Resolves to whether the
   * files were reopened.
   */
  reopen(): Promise<boolean> {
    return this.#queue(async () => {
      const gen = this.#generation;
      if (this.#stopping || !gen) return false;
      const logger = this.#logger!;
      logger.log("notice", "signal SIGUSR1 received, reopening logs");
      let logs: ErrorLogs;
      try {
        logs = this.#openLogs(gen.config);
      } catch (err) {
        logger.log("alert", `${message(err)}: still writing to the old log`);
        return false;
      }
      const old = gen.logs;
      logger.current = logs.logger;
      gen.logs = logs;
      this.#server?.refreshLogLevel();
      this.#server?.reopen();
      await old.close(); // flushed: lines logged before the switch end up in the old files
      logger.log("notice", "logs reopened");
      await this.#hook(() => this.#options.hooks?.reopen?.());
      return true;
    });
  }

  readonly #stderr = (line: string): void => this.#options.stderr(line);

  #openLogs(config: Config): ErrorLogs {
    return openErrorLogs(chooseTargets(config.main.errorLog, this.#options), this.#stderr, {
      format: this.#options.logFormat,
    });
  }

  async #start(): Promise<ServerGroup | undefined> {
    const opts = this.#options;
    let config: Config;
    try {
      config = loadCliConfig(opts.config);
    } catch (err) {
      this.#emerg(message(err));
      return undefined;
    }
    let logs: ErrorLogs;
    try {
      logs = this.#openLogs(config);
    } catch (err) {
      this.#emerg(message(err));
      return undefined;
    }
    this.#generation = { number: 1, config, logs };
    const logger = this.#logger = new SwitchableLogger(logs.logger);
    if (opts.config === undefined) {
      logger.log("notice", "no --config given: serving the built-in default configuration");
    }
    this.#logNotices(config);

    const pidPath = opts.pid ?? config.main.pid?.file;
    if (pidPath !== undefined) {
      try {
        this.#pidFile = writePidFile(
          pidPath,
          opts.pid === undefined ? { pos: config.main.pid?.pos } : {},
        );
      } catch (err) {
        this.#emerg(message(err));
        await logs.close();
        return undefined;
      }
    }

    try {
      await opts.hooks?.prepare?.(config);
    } catch (err) {
      this.#emerg(message(err));
      this.#pidFile?.remove();
      await logs.close();
      return undefined;
    }

    // Signal handlers go in before the listeners are bound: a signal that arrives as soon as
    // the "listening on" lines are out must find them (SIGHUP would otherwise kill the process).
    this.#listen();
    try {
      this.#server = await startServerGroup(config, {
        logger,
        workers: this.#workers(config),
        ...(opts.workerModule !== undefined ? { workerModule: opts.workerModule } : {}),
        ...(opts.workerData !== undefined ? { workerData: opts.workerData } : {}),
        ...(opts.hooks?.observer ? { observer: opts.hooks.observer } : {}),
        onListen: (addrs) => this.#logListeners(config, addrs),
        onStopRequest: (how, why) => this.stop(how, why),
      });
    } catch (err) {
      this.#unlisten?.();
      this.#emerg(message(err));
      this.#pidFile?.remove();
      await logs.close();
      return undefined;
    }
    const workers = this.#server.workers > 1 ? `, ${this.#server.workers} workers` : "";
    logger.log("notice", `stream-echo started with ${this.#name} (pid ${Deno.pid}${workers})`);
    await this.#hook(() => opts.hooks?.started?.(this.#server!.addrs));
    this.#markStarted();
    this.#applyStop();
    return this.#server;
  }

  async #exit(): Promise<void> {
    this.#unlisten?.();
    this.#pidFile?.remove();
    await this.#hook(() => this.#options.hooks?.exiting?.());
    this.#logger?.log("notice", "exit");
    await this.#generation?.logs.close(EXIT_FLUSH_MS);
  }

  #listen(): void {
    const unlistenSignals = listenForSignals({
      stop: (how, signal) =>
        this.stop(
          how,
          how === "fast"
            ? `signal ${signal} received, exiting`
            : `signal ${signal} received, gracefully shutting down`,
        ),
      reload: () => void this.reload(),
      reopen: () => void this.reopen(),
    });
    // A last line of defence: a bug must not take every connection down with the process.
    const onUnhandled = (e: PromiseRejectionEvent) => {
      e.preventDefault();
      const reason = e.reason instanceof Error ? e.reason.stack ?? e.reason.message : e.reason;
      this.logger.log("alert", `unhandled rejection (a bug, please report it): ${reason}`);
    };
    globalThis.addEventListener("unhandledrejection", onUnhandled);
    this.#unlisten = () => {
      unlistenSignals();
      globalThis.removeEventListener("unhandledrejection", onUnhandled);
      this.#unlisten = undefined;
    };
  }

  #workersWanted: number | undefined;

  /** How many workers serve `config` (see {@linkcode chooseWorkers}); its notices are logged. */
  #workers(config: Config): number {
    this.#workersWanted = workerCount(config.main.workerProcesses);
    const { count, notices } = chooseWorkers(
      config,
      () =>
        this.#options.workerModule === undefined
          ? "this program cannot start worker threads"
          : reusePortMissing(),
    );
    for (const n of notices) this.#logger!.log("notice", n);
    return count;
  }

  #applyStop(): void {
    const server = this.#server;
    if (!server || !this.#stopping) return;
    if (this.#stopping === "fast") {
      this.#forceTimer ??= setTimeout(() => this.#forceExit(), FAST_EXIT_MS);
      void server.close();
    } else {
      void server.shutdown();
    }
  }

  /** Runs `op` after the start and after every earlier reload or reopen. */
  #queue(op: () => Promise<boolean>): Promise<boolean> {
    const run = this.#ops.then(op);
    this.#ops = run.then(() => {}, () => {});
    return run;
  }

  #reloadFailed(err: unknown): boolean {
    this.#logger!.log("emerg", message(err));
    this.#logger!.log("notice", "reload failed: still serving the previous configuration");
    return false;
  }

  /** A fatal error: always on stderr, and in the error log too when that is elsewhere. */
  #emerg(text: string, level: LogLevel = "emerg"): void {
    const format = this.#options.logFormat === "json" ? formatJsonLogLine : formatLogLine;
    this.#options.stderr(format(level, text, undefined, new Date(), Deno.pid) + "\n");
    if (this.#logger && !this.#generation?.logs.toStderr) this.#logger.log(level, text);
  }

  /** A hook that throws is logged; it never takes the process down. */
  async #hook(fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.logger.log("alert", `lifecycle hook failed: ${message(err)}`);
    }
  }

  /** The config's notices, and what this runtime does differently from nginx. */
  #logNotices(config: Config): void {
    const logger = this.#logger!;
    for (const n of config.notices) {
      logger.log(n.level ?? "notice", `${n.message} in ${n.pos.file}:${n.pos.line}`);
    }
    if (!config.servers.some((s) => s.listen.length > 0)) {
      logger.log("warn", 'no "listen" directive in the configuration: nothing is served');
    }
    for (const w of resetWarnings(config, resetUnavailable())) logger.log("warn", w);
  }

  /** One line per listener: the address actually bound and the directive it came from. */
  #logListeners(config: Config, addrs: Deno.Addr[]): void {
    const listens = config.servers.flatMap((s) => s.listen);
    addrs.forEach((addr, i) => {
      const l = listens[i];
      const from = l
        ? ` for "listen ${l.address}${l.ssl ? " ssl" : ""}" in ${l.pos.file}:${l.pos.line}`
        : "";
      this.#logger!.log("notice", `listening on ${formatAddr(addr)}${from}`);
    });
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
