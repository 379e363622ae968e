/**
 * The session's output queue: output steps queue bytes and return at once; one pump writes them
 * in order into the writable side, waiting for backpressure, so memory stays flat however much
 * is queued (a queued `echo_duplicate` is a reference to its precompiled chunk, never count x
 * length bytes). A watchdog ends the session when no write completes for the send timeout.
 *
 * @module
 */
import { type OutputStage, Stages, type StageSlot } from "./stages/stage.ts";
import { sleep } from "./timers.ts";

import type { OutputWriter } from "./direct_writer.ts";

/**
 * Why output failed: the send timeout, or an error from writing (`call` "writev") or from
 * half-closing (`call` "shutdown").
 */
export type OutputFailure = "timeout" | { error: unknown; call?: "writev" | "shutdown" };

/** Options for {@linkcode Output}. */
export interface OutputOptions {
  /** Milliseconds without write progress, while output is pending, before giving up. */
  sendTimeout: number;
  /** Called once when writing fails for good: "timeout", or the error the writable raised. */
  onFail: (cause: OutputFailure) => void;
  /** Called when the send timer starts running (for debug logging). */
  onTimerStart?: () => void;
  /** Called after each write completed (for debug logging). */
  onWritten?: () => void;
  /**
   * Bytes the socket has accepted so far, partial writes included (`SessionIO.accepted`): any
   * change counts as progress for the send timer, so a slow but steady reader is not cut off
   * in the middle of one large write.
   */
  progress?: () => number;
  /**
   * `postpone_output`: output is held (and coalesced into one write) until this many bytes are
   * queued, or {@linkcode Output.flush} / {@linkcode Output.drained} is called. @default {0} (off)
   */
  postpone?: number;
}

/**
 * One queued piece of output: `chunk`, written whole `times` times, then `tail` once; or
 * `left` bytes made by `make` on the way out; or a change of output stages (`apply`), made
 * when the pump reaches it so that it applies to output queued after it.
 */
interface Item {
  chunk: Uint8Array;
  times: number;
  tail: Uint8Array | null;
  make?: (max: number) => Uint8Array;
  left?: number;
  apply?: () => void;
}

const EMPTY = new Uint8Array(0);

/** Generated output is made in pieces of at most this many bytes. */
const MADE_PIECE = 64 * 1024;

const now = () => performance.now();

function noop(): void {}

/** The failure of an output given up on purpose (shared: no stack captured per session). */
const ABANDONED = new Error("output abandoned");

/**
 * How often busy outputs are checked against their send timeout, in ms. One process-wide
 * ticker (running only while some output is busy) instead of a timer per write keeps the
 * common case, a write that completes at once, free of timers.
 */
export const SEND_TIMER_TICK_MS = 10;

/**
 * Ordered, backpressured output over a `WritableStreamDefaultWriter` (or a
 * {@linkcode OutputWriter} with its semantics: the direct path's writer).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Output } from "./output.ts";
 * const chunks: Uint8Array[] = [];
 * const writable = new WritableStream<Uint8Array>({ write: (c) => void chunks.push(c.slice()) });
 * const out = new Output(writable.getWriter(), { sendTimeout: 1000, onFail: () => {} });
 * out.push(new TextEncoder().encode("ab"));
 * out.pushRepeat(new TextEncoder().encode("xyxy"), 6);
 * await out.drained();
 * assert.equal(chunks.map((c) => new TextDecoder().decode(c)).join(""), "abxyxyxy");
 * ```
 */
export class Output {
  #writer: OutputWriter;
  #options: OutputOptions;
  #queue: Item[] = [];
  #pumping = false;
  #inFlight = 0;
  #failed = false;
  #failure: unknown = null;
  #waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #watching = false;
  /** When progress was last seen, by the ticker's clock; -1: not yet looked at since arming. */
  #lastProgress = -1;
  /** A write completed since the ticker last looked. */
  #progressed = false;
  #lastAccepted = -1;
  #written = 0;
  #settleWaiters: (() => void)[] = [];
  #closed = false;
  /** `postpone_output` in bytes; 0: off. */
  #postpone: number;
  /** Output held by `postpone_output`, and its size. */
  #holding: Uint8Array[] = [];
  #held = 0;
  /** Output stages (pacing, slicing, limit); null while none is in place (the common case). */
  #stages: Stages | null = null;
  /** Ends stage pauses when the output is given up. */
  #stageAbort: AbortController | null = null;
  /** True while a stage pauses on purpose: not a lack of progress for the send timer. */
  #pausing = false;
  /** This output's place in the ticker's list while its send timer runs (-1: not there). */
  #slot = -1;

  /** Busy outputs: an array with O(1) removal (a Set allocated when it shrank, per session). */
  static #watched: Output[] = [];
  static #ticker: ReturnType<typeof setInterval> | undefined;

  static #watch(o: Output): void {
    o.#slot = Output.#watched.push(o) - 1;
    Output.#ticker ??= setInterval(Output.#tickAll, SEND_TIMER_TICK_MS);
  }

  static #tickAll = (): void => {
    const t = now(); // one clock read per tick, for every busy output
    // A tick may unwatch outputs (its own or others, by failing a session): walk a copy.
    for (const o of Output.#watched.slice()) if (o.#slot >= 0) o.#onTick(t);
  };

  static #unwatch(o: Output): void {
    const i = o.#slot;
    if (i < 0) return;
    o.#slot = -1;
    const watched = Output.#watched;
    const last = watched.pop()!;
    if (last !== o) {
      watched[i] = last;
      last.#slot = i;
    }
    if (watched.length === 0 && Output.#ticker !== undefined) {
      clearInterval(Output.#ticker);
      Output.#ticker = undefined;
    }
  }

  constructor(writer: OutputWriter, options: OutputOptions) {
    this.#writer = writer;
    this.#options = options;
    this.#postpone = options.postpone ?? 0;
  }

  /** Bytes handed to the writable side so far (writes that completed). */
  get written(): number {
    return this.#written;
  }

  /** True while a write or the half-close is in flight (what {@linkcode abandon} waits for). */
  get busy(): boolean {
    return this.#inFlight > 0;
  }

  /** True when nothing is queued or being written. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.#inFlight === 0 && !this.#pumping;
  }

  /** True once writing failed (timeout or a write error). */
  get failed(): boolean {
    return this.#failed;
  }

  /** True once the writable side was closed ({@linkcode Output.close}, a half-close). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Puts `stage` in `slot` (null removes it) for output queued from now on: output queued
   * before goes out as it would have. See src/engine/stages/stage.ts.
   */
  setStage(slot: StageSlot, stage: OutputStage | null): void {
    if (this.#failed) return;
    // What postpone_output holds was queued before: it goes out first, as it would have.
    this.flush();
    const apply = () => {
      this.#stageAbort ??= new AbortController();
      const stages = this.#stages ?? new Stages();
      this.#stages = stages;
      stages.set(slot, stage);
      if (stages.empty && this.#stages === stages) this.#stages = null;
    };
    if (this.#queue.length === 0) {
      apply();
      return;
    }
    this.#queue.push({ chunk: EMPTY, times: 0, tail: null, apply });
    this.#kick();
  }

  /**
   * Drops everything queued or held that has not reached a stage yet (`echo_send_limit` once
   * its limit is reached: nothing after it may go out, and a large reply is not walked through).
   */
  discardQueued(): void {
    this.#queue.length = 0;
    this.#holding = [];
    this.#held = 0;
  }

  /**
   * Queues `total` bytes made on the way out by `make(max)` (which returns at most `max`
   * bytes, at least one), so a large generated reply never sits in memory whole.
   */
  pushMade(total: number, make: (max: number) => Uint8Array): void {
    if (total <= 0 || this.#failed || this.#closed) return;
    this.flush(); // what postpone_output holds goes first
    this.#queue.push({ chunk: EMPTY, times: 0, tail: null, make, left: total });
    this.#kick();
  }

  /** Queues `data` (kept by reference: it must not change until written). */
  push(data: Uint8Array): void {
    if (data.byteLength === 0 || this.#failed || this.#closed) return;
    if (this.#postpone > 0) {
      this.#holding.push(data);
      this.#held += data.byteLength;
      if (this.#held >= this.#postpone) this.flush();
      return;
    }
    this.#enqueue(data);
  }

  /** Writes `data` at once when nothing is ahead of it and no stage is in place, else queues it. */
  #enqueue(data: Uint8Array): void {
    if (this.#queue.length === 0 && !this.#pumping && this.#stages === null && this.#hasRoom()) {
      this.#write(data);
      return;
    }
    this.#queue.push({ chunk: data, times: 1, tail: null });
    this.#kick();
  }

  /**
   * Queues `total` bytes made of repetitions of `chunk` (whole chunks, then a prefix of it).
   * Nothing is copied: the same chunk is written again and again.
   */
  pushRepeat(chunk: Uint8Array, total: number): void {
    if (total <= 0 || chunk.byteLength === 0 || this.#failed || this.#closed) return;
    if (this.#postpone > 0) {
      if (this.#held + total < this.#postpone) {
        // small enough to hold: materialize it (less than postpone_output bytes), doubling
        // what is filled so far (a copy per chunk froze the event loop for seconds when a
        // one-byte chunk was repeated millions of times)
        const bytes = new Uint8Array(total);
        bytes.set(chunk.subarray(0, Math.min(chunk.byteLength, total)));
        for (let filled = chunk.byteLength; filled < total; filled *= 2) {
          bytes.copyWithin(filled, 0, Math.min(filled, total - filled));
        }
        this.push(bytes);
        return;
      }
      this.flush();
    }
    const times = Math.floor(total / chunk.byteLength);
    const rest = total - times * chunk.byteLength;
    this.#queue.push({ chunk, times, tail: rest > 0 ? chunk.subarray(0, rest) : null });
    this.#kick();
  }

  /**
   * Sends what `postpone_output` holds (as one write), without waiting. A no-op when nothing
   * is held.
   */
  flush(): void {
    if (this.#held === 0) return;
    const holding = this.#holding;
    let data: Uint8Array;
    if (holding.length === 1) {
      data = holding[0];
    } else {
      data = new Uint8Array(this.#held);
      let off = 0;
      for (const part of holding) {
        data.set(part, off);
        off += part.byteLength;
      }
    }
    this.#holding = [];
    this.#held = 0;
    if (this.#failed) return;
    this.#enqueue(data);
  }

  /**
   * True when everything queued so far has been written (what `postpone_output` held is sent
   * first): {@linkcode drained} would resolve at once. No promise.
   */
  drainedNow(): boolean {
    this.flush();
    return this.idle && !this.#failed;
  }

  /**
   * Rejects every {@linkcode drained} (and so {@linkcode close}) waiting now with `reason`,
   * without failing the output: the session halted, and a wait for the output must end with it.
   */
  interrupt(reason: unknown): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(reason);
  }

  /** Resolves once everything queued so far has been written; rejects if writing failed. */
  drained(): Promise<void> {
    this.flush();
    if (this.#failed) return Promise.reject(this.#failure);
    if (this.idle) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Half-closes: waits for the queue to drain, then closes the writable side (once). */
  close(): Promise<void> {
    this.flush();
    // Nothing queued or in flight (the common case at a script's end): close at once.
    if (this.idle && !this.#failed) return this.#closeNow();
    return this.drained().then(() => this.#closeNow());
  }

  #closeNow(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#inFlight++;
    this.#armWatchdog();
    return this.#writer.close().then(
      () => {
        this.#closed = true;
        this.#inFlight--;
        this.#checkIdle();
      },
      (err) => {
        this.#fail({ error: err, call: "shutdown" });
        this.#inFlight--;
        this.#checkIdle();
        throw this.#failure;
      },
    );
  }

  /**
   * Gives up: stops the pump and the watchdog, aborts the writable side, and waits (at most
   * `graceMs`) for writes in flight to settle. Never rejects. The writer keeps its lock on the
   * (closed or aborted) stream: releasing it would reject the writer's `closed` promise with a
   * fresh TypeError, a cost paid on every session for a stream nobody writes to again.
   */
  abandon(graceMs = 200): Promise<void> {
    if (!this.#failed) {
      this.#failed = true;
      this.#failure = ABANDONED;
    }
    this.#queue.length = 0;
    this.#holding = [];
    this.#held = 0;
    this.#stageAbort?.abort();
    this.#stopWatchdog();
    if (!this.#closed) this.#writer.abort(ABANDONED).catch(noop);
    this.#rejectWaiters();
    if (this.#inFlight === 0) return Promise.resolve();
    return this.#settle(graceMs);
  }

  async #settle(graceMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.#settleWaiters.push(resolve)),
      new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs)),
    ]);
    clearTimeout(timer);
  }

  #hasRoom(): boolean {
    const size = this.#writer.desiredSize;
    return size !== null && size > 0;
  }

  #kick(): void {
    if (this.#pumping || this.#failed) return;
    this.#pumping = true;
    this.#pump()
      .catch((err) => this.#fail({ error: err }))
      .finally(() => {
        // #pump() already cleared #pumping when its loop ended. Clearing it again here would be
        // wrong: a push since then may have started a newer pump that is still running (it
        // would lose its piece's place in the order, and idle/drained() would lie).
        if (this.#queue.length > 0 && !this.#failed) this.#kick();
        else this.#checkIdle();
      });
  }

  async #pump(): Promise<void> {
    try {
      await this.#pumpQueue();
    } finally {
      // Synchronously at loop exit, so a push right after sees an idle pump.
      this.#pumping = false;
    }
  }

  async #pumpQueue(): Promise<void> {
    while (this.#queue.length > 0 && !this.#failed) {
      const item = this.#queue[0];
      let piece: Uint8Array;
      if (item.apply) {
        this.#queue.shift();
        item.apply();
        continue;
      } else if (item.make) {
        piece = item.make(Math.min(item.left!, MADE_PIECE));
        item.left! -= piece.byteLength;
        if (item.left! <= 0 || piece.byteLength === 0) this.#queue.shift();
      } else if (item.times > 0) {
        item.times--;
        piece = item.chunk;
      } else if (item.tail) {
        piece = item.tail;
        item.tail = null;
      } else {
        this.#queue.shift();
        continue;
      }
      if (this.#stages) {
        await this.#stages.send(piece, this.#toSocket, this.#pause);
        continue;
      }
      if (!this.#hasRoom()) {
        this.#armWatchdog();
        try {
          await this.#writer.ready;
        } catch (err) {
          this.#fail({ error: err });
          return;
        }
        if (this.#failed) return;
      }
      this.#write(piece);
    }
  }

  /** The end of the stage chain: waits for room, writes, and resolves once written. */
  #toSocket = async (piece: Uint8Array): Promise<void> => {
    if (!this.#failed && !this.#hasRoom()) {
      this.#armWatchdog();
      try {
        await this.#writer.ready;
      } catch (err) {
        this.#fail({ error: err });
      }
    }
    if (!this.#failed) await this.#write(piece);
    // Failed: stop the stages' loops (the pump ends quietly, the failure is already reported).
    if (this.#failed) throw this.#failure;
  };

  /** A stage's deliberate wait: the send timer does not run meanwhile. */
  #pause = async (ms: number): Promise<void> => {
    if (!this.#failed) {
      this.#pausing = true;
      try {
        await sleep(ms, this.#stageAbort?.signal);
      } finally {
        this.#pausing = false;
        this.#progressed = true; // the next tick restarts the send timer
      }
    }
    // Given up meanwhile: stop the stage's loop (the pump ends quietly, output already failed).
    if (this.#failed) throw this.#failure;
  };

  /** Writes `piece`; the promise resolves once it settled (never rejects). */
  #write(piece: Uint8Array): Promise<void> {
    this.#inFlight++;
    this.#armWatchdog();
    const size = piece.byteLength;
    return this.#writer.write(piece).then(
      () => {
        this.#inFlight--;
        this.#written += size;
        this.#progressed = true;
        this.#options.onWritten?.();
        this.#checkIdle();
      },
      (err) => {
        this.#inFlight--;
        this.#fail({ error: err });
        this.#checkIdle();
      },
    );
  }

  #armWatchdog(): void {
    if (this.#watching || this.#failed) return;
    // No clock read here (a write usually completes before the next tick): the first tick
    // takes its time as the start, so a timeout fires at most one tick late.
    this.#lastProgress = -1;
    this.#progressed = false;
    this.#watching = true;
    this.#options.onTimerStart?.();
    Output.#watch(this);
  }

  #onTick(t: number): void {
    if (this.#failed || this.idle) {
      this.#stopWatchdog();
      return;
    }
    if (this.#pausing) return;
    const accepted = this.#options.progress?.();
    if (accepted !== undefined && accepted !== this.#lastAccepted) {
      this.#lastAccepted = accepted;
      this.#progressed = true;
    }
    if (this.#progressed || this.#lastProgress < 0) {
      this.#progressed = false;
      this.#lastProgress = t;
      return;
    }
    if (t - this.#lastProgress >= this.#options.sendTimeout) this.#fail("timeout");
  }

  #stopWatchdog(): void {
    if (!this.#watching) return;
    this.#watching = false;
    Output.#unwatch(this);
  }

  #fail(cause: OutputFailure): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#failure = cause === "timeout"
      ? new Error("send timed out")
      : (cause.error instanceof Error ? cause.error : new Error(String(cause.error)));
    this.#queue.length = 0;
    this.#stageAbort?.abort();
    this.#stopWatchdog();
    this.#rejectWaiters();
    this.#options.onFail(cause);
  }

  #rejectWaiters(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(this.#failure);
  }

  #checkIdle(): void {
    if (this.#inFlight === 0 && this.#settleWaiters.length > 0) {
      const settle = this.#settleWaiters;
      this.#settleWaiters = [];
      for (const s of settle) s();
    }
    if (!this.idle || this.#failed) return;
    this.#stopWatchdog();
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.resolve();
  }
}
