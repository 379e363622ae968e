/**
 * nginx's signals, mapped to what a lifecycle does: TERM/INT fast stop, QUIT graceful stop,
 * HUP reload, USR1 reopen the logs (Windows: INT and BREAK, both a fast stop).
 *
 * @module
 */

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
 * import { listenForSignals } from "./signals.ts";
 * const stopListening = listenForSignals({ stop() {}, reload() {}, reopen() {} });
 * stopListening();
 * ```
 */
export function listenForSignals(target: SignalTarget): () => void {
  const table = signalTable(target);
  for (const [sig, fn] of table) Deno.addSignalListener(sig, fn);
  return () => {
    for (const [sig, fn] of table) Deno.removeSignalListener(sig, fn);
  };
}
