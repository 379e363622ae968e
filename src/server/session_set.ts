/**
 * The sessions in flight: each with the AbortController that ends it at once (fast shutdown)
 * and the promise that settles when it has ended.
 *
 * @module
 */

interface Entry {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Tracks running sessions so a shutdown can wait for them (graceful) or end them (fast).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SessionSet } from "./session_set.ts";
 * const set = new SessionSet();
 * set.run((signal) => new Promise<void>((r) => signal.addEventListener("abort", () => r())));
 * assert.equal(set.size, 1);
 * set.abortAll();
 * await set.drained();
 * assert.equal(set.size, 0);
 * ```
 */
export class SessionSet {
  #entries = new Set<Entry>();
  /** Called after each session has ended (and left the set). */
  onEnded: (() => void) | undefined;

  /** Number of sessions in flight. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Starts `task` as a tracked session. `task` must not reject (a rejection is swallowed
   * here so that no client can cause an unhandled rejection).
   */
  run(task: (signal: AbortSignal) => Promise<void>): void {
    const controller = new AbortController();
    const entry: Entry = { controller, done: Promise.resolve() };
    this.#entries.add(entry);
    // One promise per session (no async frame): the task reports its own failures.
    const ended = () => {
      this.#entries.delete(entry);
      this.onEnded?.();
    };
    let done: Promise<void>;
    try {
      done = task(controller.signal);
    } catch (err) {
      done = Promise.reject(err);
    }
    entry.done = done.then(ended, ended);
  }

  /** Ends every session in flight now (each sees its signal aborted). */
  abortAll(): void {
    for (const e of this.#entries) e.controller.abort();
  }

  /** Resolves once no session is in flight (including ones started while waiting). */
  async drained(): Promise<void> {
    while (this.#entries.size > 0) {
      await Promise.all([...this.#entries].map((e) => e.done));
    }
  }
}
