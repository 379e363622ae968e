/**
 * The sessions in flight: each with the stop signal that ends it at once (fast shutdown) and the
 * promise that settles when it has ended.
 *
 * @module
 */
import type { StopSignal } from "../engine/types.ts";

/**
 * A session's stop signal: what an `AbortSignal` offers a session (`aborted`, listeners for
 * "abort"), without an AbortController and an EventTarget per connection.
 */
class Entry implements StopSignal {
  aborted = false;
  done: Promise<void> = Promise.resolve();
  #listeners: (() => void)[] = [];

  addEventListener(_type: "abort", listener: () => void): void {
    if (this.aborted) return;
    this.#listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const i = this.#listeners.indexOf(listener);
    if (i >= 0) this.#listeners.splice(i, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) {
      try {
        listener();
      } catch { /* a listener's failure must not keep the others from running */ }
    }
  }
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
  run(task: (signal: StopSignal) => Promise<void>): void {
    const entry = new Entry();
    this.#entries.add(entry);
    // One promise per session (no async frame): the task reports its own failures.
    const ended = () => {
      this.#entries.delete(entry);
      this.onEnded?.();
    };
    let done: Promise<void>;
    try {
      done = task(entry);
    } catch (err) {
      done = Promise.reject(err);
    }
    entry.done = done.then(ended, ended);
  }

  /** Ends every session in flight now (each sees its signal aborted). */
  abortAll(): void {
    for (const e of this.#entries) e.abort();
  }

  /** Resolves once no session is in flight (including ones started while waiting). */
  async drained(): Promise<void> {
    while (this.#entries.size > 0) {
      await Promise.all([...this.#entries].map((e) => e.done));
    }
  }
}
