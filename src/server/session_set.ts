/**
 * The sessions in flight: each with the stop signal that ends it at once (fast shutdown) and the
 * promise that settles when it has ended.
 *
 * @module
 */
import type { StopSignal } from "../engine/types.ts";

const SETTLED: Promise<void> = Promise.resolve();

/**
 * A session in a {@linkcode SessionSet}, and its stop signal: what an `AbortSignal` offers a
 * session (`aborted`, listeners for "abort"), without an AbortController and an EventTarget per
 * connection. The server's per-connection object extends it (one object, not three).
 */
export class SessionEntry implements StopSignal {
  aborted = false;
  /** Settles once the session has ended (and left its set). */
  done: Promise<void> = SETTLED;
  /** Its neighbours in its set's list, and whether it is in one (for {@linkcode SessionSet}). */
  setPrev: SessionEntry | null = null;
  setNext: SessionEntry | null = null;
  inSet = false;
  // A session listens with one listener at a time, mostly: no array until a second one.
  #listener: (() => void) | undefined = undefined;
  #more: (() => void)[] | undefined = undefined;

  addEventListener(_type: "abort", listener: () => void): void {
    if (this.aborted) return;
    if (this.#listener === undefined && this.#more === undefined) this.#listener = listener;
    else (this.#more ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    if (this.#listener === listener) {
      this.#listener = undefined;
      return;
    }
    const more = this.#more;
    if (more === undefined) return;
    const i = more.indexOf(listener);
    if (i >= 0) more.splice(i, 1);
  }

  /** Stops the session: its listeners are called once each, in the order they were added. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const first = this.#listener;
    const more = this.#more;
    this.#listener = undefined;
    this.#more = undefined;
    if (first !== undefined) call(first);
    if (more !== undefined) { for (const listener of more) call(listener); }
  }
}

function call(listener: () => void): void {
  try {
    listener();
  } catch { /* a listener's failure must not keep the others from running */ }
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
  // A list through the entries themselves: adding and removing one allocates nothing (a Set's
  // table grows, shrinks and is rebuilt as sessions come and go).
  #head: SessionEntry | null = null;
  #size = 0;
  /** Called after each session has ended (and left the set). */
  onEnded: (() => void) | undefined;

  /** Number of sessions in flight. */
  get size(): number {
    return this.#size;
  }

  /**
   * Starts `task` as a tracked session. `task` must not reject (a rejection is swallowed
   * here so that no client can cause an unhandled rejection).
   */
  run(task: (signal: StopSignal) => Promise<void>): void {
    const entry = new SessionEntry();
    this.add(entry);
    // One promise per session (no async frame): the task reports its own failures.
    const ended = () => this.end(entry);
    let done: Promise<void>;
    try {
      done = task(entry);
    } catch (err) {
      done = Promise.reject(err);
    }
    entry.done = done.then(ended, ended);
  }

  /**
   * Starts tracking `entry`, a session that reports its own end with {@linkcode end} and whose
   * `done` the caller sets to its task's promise: no closure or promise per session here.
   */
  add(entry: SessionEntry): void {
    if (entry.inSet) return;
    entry.inSet = true;
    entry.setPrev = null;
    entry.setNext = this.#head;
    if (this.#head !== null) this.#head.setPrev = entry;
    this.#head = entry;
    this.#size++;
  }

  /** `entry`'s session has ended: it leaves the set (then `onEnded` is called). */
  end(entry: SessionEntry): void {
    if (!entry.inSet) return;
    entry.inSet = false;
    const { setPrev: prev, setNext: next } = entry;
    if (prev === null) this.#head = next;
    else prev.setNext = next;
    if (next !== null) next.setPrev = prev;
    entry.setPrev = entry.setNext = null;
    this.#size--;
    this.onEnded?.();
  }

  /** Ends every session in flight now (each sees its signal aborted). */
  abortAll(): void {
    for (const e of this.#list()) e.abort();
  }

  /** Resolves once no session is in flight (including ones started while waiting). */
  async drained(): Promise<void> {
    while (this.#size > 0) {
      await Promise.all(this.#list().map((e) => e.done));
    }
  }

  /** The entries now, oldest first (as they were added). */
  #list(): SessionEntry[] {
    const out: SessionEntry[] = [];
    for (let e = this.#head; e !== null; e = e.setNext) out.push(e);
    return out.reverse();
  }
}
