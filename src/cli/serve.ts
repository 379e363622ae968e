/**
 * `stream-echo serve`: a thin shell over the {@linkcode Lifecycle} (src/lifecycle/), which loads
 * the config, opens the error log and pid file, binds the listeners, then follows nginx's
 * signals until told to stop.
 *
 * @module
 */
import type { Invocation } from "./args.ts";
import { Lifecycle } from "../lifecycle/lifecycle.ts";
import { sessionHooks, sessionWorkerData, sessionWorkerSide } from "./session_hooks.ts";

import { runWorkerThread } from "../lifecycle/worker_thread.ts";

export { EXIT_FLUSH_MS } from "../lifecycle/lifecycle.ts";

/** Where the CLI writes its output (injectable, so `main()` can run inside a test). */
export interface CliIO {
  /** Normal output (help, version). */
  stdout(text: string): void;
  /** Usage errors, check results and, by default, the error log. */
  stderr(text: string): void;
  /** Waits (at most `timeoutMs`) until stdout and stderr have written what they hold. */
  flush?(timeoutMs?: number): Promise<boolean>;
}

/** Options for {@linkcode serve}. */
export interface ServeOptions {
  /** The program's entry module, loaded again by each worker thread (`worker_processes`). */
  workerModule?: string | URL;
}

/**
 * Runs the server until SIGTERM/SIGINT (fast) or SIGQUIT (graceful); SIGHUP reloads, SIGUSR1
 * reopens the logs. Resolves to the exit code: 0 after a signal, 1 when the config, the error
 * log, the pid file or a listener fails at start. The work is the {@linkcode Lifecycle}'s.
 */
export function serve(
  inv: Invocation,
  io: CliIO,
  options: ServeOptions = {},
): Promise<number> {
  const life: Lifecycle = new Lifecycle({
    ...options,
    config: inv.config,
    errorLog: inv.errorLog,
    logLevel: inv.logLevel,
    pid: inv.pid,
    logFormat: inv.logFormat,
    stderr: (line) => io.stderr(line),
    hooks: sessionHooks(inv, () => life),
    workerData: sessionWorkerData(inv),
  });
  return life.run();
}

/**
 * The worker-thread side of `serve` (`worker_processes N`): cli.ts runs it when it is loaded as
 * a worker. Features whose work must happen where sessions run (recording taps) give their
 * worker-side twin here, through `runWorkerThread`'s `setup`, from the `workerData` that
 * `serve` hands the lifecycle; `ended` reports reach the main thread's observer by themselves.
 */
export function serveWorker(): void {
  runWorkerThread({ setup: sessionWorkerSide });
}
