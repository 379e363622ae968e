/**
 * nginx's signals, mapped to what a lifecycle does: TERM/INT fast stop, QUIT graceful stop,
 * HUP reload, USR1 reopen the logs (Windows: INT and BREAK, both a fast stop).
 *
 * @module
 */
import inspector from "node:inspector";
import process from "node:process";

/** What the signals act on. */
export interface SignalTarget {
  /** A stop: "fast" (TERM, INT, BREAK) or "graceful" (QUIT); `signal` is its name. */
  stop(how: "fast" | "graceful", signal: Deno.Signal): void;
  /** SIGHUP. */
  reload(): void;
  /** SIGUSR1. */
  reopen(): void;
}

/** The signals this platform delivers, and what each does. */
export function signalTable(
  target: SignalTarget,
  os: typeof Deno.build.os = Deno.build.os,
): [Deno.Signal, () => void][] {
  const table: [Deno.Signal, () => void][] = [["SIGINT", () => target.stop("fast", "SIGINT")]];
  if (os === "windows") {
    table.push(["SIGBREAK", () => target.stop("fast", "SIGBREAK")]);
    return table;
  }
  table.push(
    ["SIGTERM", () => target.stop("fast", "SIGTERM")],
    ["SIGQUIT", () => target.stop("graceful", "SIGQUIT")],
    ["SIGHUP", () => target.reload()],
    ["SIGUSR1", () => target.reopen()],
  );
  return table;
}

/**
 * Listens for the signals of {@linkcode signalTable}; returns the function that stops
 * listening.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { listenForSignals } from "./signals.ts";
 * const calls: string[] = [];
 * const stopListening = listenForSignals({
 *   stop: (how) => calls.push(`stop ${how}`),
 *   reload: () => calls.push("reload"),
 *   reopen: () => calls.push("reopen"),
 * });
 * stopListening();
 * assert.deepEqual(calls, []); // nothing runs until a signal arrives
 * ```
 */
export function listenForSignals(target: SignalTarget): () => void {
  const table = signalTable(target).map(([sig, fn]): [Deno.Signal, () => void] =>
    sig === "SIGUSR1"
      ? [sig, () => {
        fn();
        closeSignalInspector();
      }]
      : [sig, fn]
  );
  for (const [sig, fn] of table) Deno.addSignalListener(sig, fn);
  return () => {
    for (const [sig, fn] of table) Deno.removeSignalListener(sig, fn);
  };
}

/** When, after a SIGUSR1, the inspector the runtime may have opened is closed again (ms). */
export const INSPECTOR_CLOSE_MS: readonly number[] = [
  0,
  10,
  50,
  100,
  250,
  500,
  1000,
  2000,
  5000,
  10000,
];

/**
 * Deno 2.9.2 and later answer SIGUSR1 as Node does: they open the V8 inspector on
 * 127.0.0.1:9229, a port any local user can connect to and run code in this process through.
 * SIGUSR1 is nginx's (and logrotate's) "reopen the logs" signal, so each log rotation would
 * leave that door open: the inspector the signal opened is closed again at once (the runtime
 * opens it just after our listener runs, later on a busy machine: hence a few tries over ten
 * seconds; closing when none is open does nothing). An inspector started on purpose
 * with `--inspect=HOST:PORT` on another port than 9229 is left alone (SIGUSR1 opens nothing
 * then); one on the default port cannot be told apart, and is closed too.
 */
function closeSignalInspector(): void {
  if (process.debugPort !== 9229) return;
  for (const ms of INSPECTOR_CLOSE_MS) {
    const timer = setTimeout(() => {
      try {
        inspector.close();
      } catch { /* no inspector, or a runtime without one */ }
    }, ms);
    Deno.unrefTimer(timer);
  }
}
