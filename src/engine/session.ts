/**
 * One session: runs a server's steps in order over one reading buffer and one output queue,
 * then closes the way nginx's stream echo module does (lingering close, client error logging),
 * without ever rejecting.
 *
 * @module
 */
import type { EchoSettings } from "../config/types.ts";
import type { LogContext, Logger, LogLevel } from "../log/logger.ts";
import { ByteReader } from "./byte_reader.ts";
import { DirectWriter } from "./direct_writer.ts";
import { Discarder } from "./discarder.ts";
import { osFailure, ScriptEnd, SessionHalt, toHalt } from "./halt.ts";
import { linger, PROBE_MS } from "./lingering.ts";
import { Output } from "./output.ts";
import { type Prng, sessionPrng } from "./random.ts";
import type { StepContext } from "./step_context.ts";
import { runStep } from "./steps/run_step.ts";
import { cancelTimer, clock, startTimer, TIMED_OUT, type Timer, withTimeout } from "./timers.ts";
import type {
  CloseMode,
  DirectIO,
  SessionEnd,
  SessionIO,
  SessionOptions,
  SessionResult,
  SessionScript,
  StopSignal,
} from "./types.ts";

/** The `while ...` part of every session log line, like the module's `c->log->action`. */
export const SESSION_ACTION = "running stream echo commands";

/** Shared quiet halts (no stack captured per session). */
const CLIENT_EOF = new SessionHalt("eof", "");
const CLOSING = new SessionHalt("eof", "");

/** How long cleanup waits for writes and reads in flight to settle after closing, in ms. */
const SETTLE_MS = 200;

/**
 * Runs `script` over `io` and resolves with how the session ended. Never rejects: every client
 * error, timeout and internal failure becomes a {@linkcode SessionResult} (and a log line at
 * the level the module uses). The connection is closed when it resolves.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runSession } from "./session.ts";
 * import { quietLogger } from "../log/logger.ts";
 * const received: Uint8Array[] = [];
 * const result = await runSession(
 *   {
 *     steps: [{ op: "echo", data: new TextEncoder().encode("hi\n"), directive: "echo", pos: { file: "x", line: 1 } }],
 *     settings: {
 *       readTimeout: 60000, sendTimeout: 60000, readBufferSize: 1024, clientErrorLogLevel: "info",
 *       lingeringClose: "off", lingeringTime: 30000, lingeringTimeout: 5000,
 *     },
 *   },
 *   {
 *     readable: new ReadableStream({ start: (c) => c.close() }),
 *     writable: new WritableStream({ write: (c) => void received.push(c.slice()) }),
 *     close: () => {},
 *   },
 *   { logger: quietLogger },
 * );
 * assert.equal(result.end, "eof");
 * assert.equal(new TextDecoder().decode(received[0]), "hi\n");
 * ```
 */
export function runSession(
  script: SessionScript,
  io: SessionIO,
  options: SessionOptions,
): Promise<SessionResult> {
  // No async frame of its own: one catch on the session's promise.
  try {
    return new Session(script, io, options).run().catch((err) => internalError(io, err));
  } catch (err) {
    return Promise.resolve(internalError(io, err));
  }
}

function noop(): void {}

/** Only a bug can get here; still never reject, and never leave the connection open. */
function internalError(io: SessionIO, err: unknown): SessionResult {
  try {
    io.close();
  } catch { /* already closed */ }
  return {
    end: "error",
    reason: `stream echo internal error: ${String(err)}`,
    bytesIn: 0,
    bytesOut: 0,
  };
}

/**
 * One wait of a session (`until`, and the read timer's wait): settles once, with `p`, with the
 * session's halt, or with TIMED_OUT when its timer (if any) fires first. An object with methods
 * rather than a closure per way it can end: a session waits for every read.
 */
class Wait<T> {
  readonly promise: Promise<T | typeof TIMED_OUT>;
  #resolve!: (value: T | typeof TIMED_OUT) => void;
  #reject!: (err: unknown) => void;
  #list: Wait<unknown>[];
  #timer: Timer | null;
  #done = false;
  /**
   * The session whose read (`fill`) this is: the timer's end rejects with its read timeout and
   * a read error with {@linkcode Session.readFailure}, instead of TIMED_OUT and the error.
   */
  #fillOf: Session | null;

  constructor(list: Wait<unknown>[], p: Promise<T>, ms: number, fillOf: Session | null = null) {
    this.#fillOf = fillOf;
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#list = list;
    list.push(this as Wait<unknown>);
    this.#timer = ms >= 0 ? startTimer(ms, this) : null;
    p.then((value) => this.#settle(value, false), (err) => this.#settle(err, true));
  }

  /** The timer fired first. */
  onTimer(): void {
    if (this.#done) return;
    this.#done = true;
    this.#timer = null;
    this.#leave();
    if (this.#fillOf) {
      this.#reject(this.#fillOf.clientError("timeout", "stream client read timed out"));
    } else this.#resolve(TIMED_OUT);
  }

  /** The session halted (it already took this wait off its list). */
  onHalt(halt: SessionHalt): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) cancelTimer(this.#timer);
    this.#reject(halt);
  }

  #settle(value: unknown, failed: boolean): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) cancelTimer(this.#timer);
    this.#leave();
    if (failed) this.#reject(this.#fillOf ? this.#fillOf.readFailure(value) : value);
    else this.#resolve(value as T);
  }

  #leave(): void {
    const list = this.#list;
    // Usually the last one (one wait at a time): no splice, no array allocated.
    const last = list.length - 1;
    if (list[last] === this) list.pop();
    else {
      const i = list.indexOf(this as Wait<unknown>);
      if (i >= 0) list.splice(i, 1);
    }
  }
}

class Session implements StepContext {
  readonly settings: EchoSettings;
  readonly output: Output;
  #script: SessionScript;
  #io: SessionIO;
  /** The io's direct path, when it offers one for itself (see SessionIO.direct). */
  #direct: DirectIO | undefined;
  #logger: Logger;
  #ctx: LogContext;
  #debugOn: boolean;
  #signal: StopSignal | undefined;
  #reader: ByteReader | null = null;
  #discarder: Discarder | null = null;
  #halt: SessionHalt | null = null;
  /** The waits in flight (until, the read timer's wait): a halt rejects each. */
  #waits: Wait<unknown>[] = [];
  #halted: AbortController | null = null;
  #scriptDone = false;
  /** True once the session closed gracefully (lingered, or the client ended): no reset. */
  #graceful = false;
  #prng: Prng | null = null;
  #closeMode: CloseMode = "auto";
  lastStart = 0;
  lastEnd = 0;
  match: RegExpExecArray | null = null;
  loopMark = -1;
  eofEnded = false;

  constructor(script: SessionScript, io: SessionIO, options: SessionOptions) {
    this.#script = script;
    this.settings = script.settings;
    this.#io = io;
    this.#direct = io.direct?.of === io ? io.direct : undefined;
    this.#logger = options.logger;
    const ctx = options.context;
    // Read only: the caller's context is used as it is when it names its action (the server's).
    this.#ctx = ctx?.action ? ctx : { ...ctx, action: SESSION_ACTION };
    this.#signal = options.signal;
    this.#debugOn = options.logger.enabled("debug");
    const direct = this.#direct;
    const writer = direct
      ? new DirectWriter(direct.sink, direct.highWaterMark)
      : io.writable.getWriter();
    this.output = new Output(writer, {
      sendTimeout: script.settings.sendTimeout,
      postpone: script.settings.postponeOutput,
      onTimerStart: this.#debugOn ? () => this.debugTimer(script.settings.sendTimeout) : undefined,
      onWritten: this.#debugOn ? () => this.debug("stream echo writer handler") : undefined,
      progress: io.accepted ? () => io.accepted!() : undefined,
      onFail: (cause) =>
        this.halt(
          cause === "timeout"
            ? this.clientError("timeout", "stream client send timed out")
            : this.clientError("reset", osFailure(cause.call ?? "writev", cause.error)),
        ),
    });
  }

  get halted(): SessionHalt | null {
    return this.#halt;
  }

  log(level: LogLevel, message: string): void {
    this.#logger.log(level, message, this.#ctx);
  }

  get discarding(): boolean {
    return this.#discarder !== null;
  }

  get signal(): AbortSignal {
    this.#halted ??= new AbortController();
    if (this.#halt) this.#halted.abort(this.#halt);
    return this.#halted.signal;
  }

  /** Runs the script, then closes: one async frame for the whole session. */
  async run(): Promise<SessionResult> {
    const onAbort = () => this.halt(new SessionHalt("shutdown", "shut down by the server"));
    this.#signal?.addEventListener("abort", onAbort, { once: true });
    if (this.#signal?.aborted) onAbort();
    let result: SessionResult;
    try {
      const steps = this.#script.steps;
      if (steps.length === 0) {
        result = { end: "eof", bytesIn: 0, bytesOut: 0 }; // no echo directives
      } else {
        try {
          try {
            for (let i = 0; i < steps.length; i++) {
              if (this.#halt) throw this.#halt;
              const running = runStep(this, steps[i]);
              if (running instanceof Promise) await running; // synchronous steps: no turn
            }
          } catch (err) {
            if (!(err instanceof ScriptEnd) || this.#halt) throw err; // echo_close: the end, early
          }
          this.#scriptDone = true;
          if (this.settings.lingeringClose === "off") {
            if (!this.output.drainedNow()) await this.until(this.output.drained());
          } else {
            await this.#finish(); // its half-close waits for the output to drain first
          }
          result = { end: "eof", bytesIn: 0, bytesOut: 0 };
        } catch (err) {
          const halt = this.#halt ?? toHalt(err);
          this.halt(halt);
          this.#scriptDone = true;
          if (halt.level) this.#logger.log(halt.level, halt.message, this.#ctx);
          await this.#afterHalt(halt);
          result = halt.message && halt.end !== "eof"
            ? { end: halt.end, reason: halt.message, bytesIn: 0, bytesOut: 0 }
            : { end: halt.end, bytesIn: 0, bytesOut: 0 };
        }
      }
    } finally {
      this.#signal?.removeEventListener("abort", onAbort);
      const closing = this.#cleanup();
      if (closing) await closing;
    }
    result.bytesIn = this.#reader?.received ?? 0;
    // What the socket took, partial writes included: a write cut short by the send timeout, a
    // reset or a shutdown still delivered what the socket had accepted. Writes in flight have
    // settled by now (the cleanup waited for them), so the count is final.
    result.bytesOut = this.#io.accepted ? this.#io.accepted() : this.output.written;
    return result;
  }

  setCloseMode(mode: CloseMode): void {
    this.#closeMode = mode;
  }

  reader(): ByteReader {
    this.#reader ??= new ByteReader(this.#direct ?? this.#io.readable, {
      size: this.settings.readBufferSize,
    });
    return this.#reader;
  }

  hasReader(): boolean {
    return this.#reader !== null;
  }

  until<T>(p: Promise<T>): Promise<T> {
    if (this.#halt) {
      p.catch(() => {});
      return Promise.reject(this.#halt);
    }
    return new Wait<T>(this.#waits, p, -1).promise as Promise<T>;
  }

  /**
   * `this.until(withTimeout(p, ms))` in one promise and one timer entry: resolves with `p`'s
   * value or TIMED_OUT, rejects with `p`'s error or the session's halt. Runs for every read.
   */
  #untilTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
    if (this.#halt) {
      p.catch(() => {});
      return Promise.reject(this.#halt);
    }
    return new Wait<T>(this.#waits, p, ms).promise;
  }

  fill(): Promise<number | null> {
    // postpone_output holds output only until the script waits for the client
    this.output.flush();
    this.debugTimer(this.settings.readTimeout);
    const read = this.reader().fill();
    if (this.#halt) {
      read.catch(noop);
      return Promise.reject(this.#halt);
    }
    // One promise for the whole wait: the Wait itself turns a timeout and a read error into
    // the session's halts (see Wait.fillOf).
    return new Wait(this.#waits, read, this.settings.readTimeout, this).promise as Promise<
      number | null
    >;
  }

  /** A read under the read timer failed with `err`: the halt it ends the session with. */
  readFailure(err: unknown): unknown {
    if (err instanceof SessionHalt) return err;
    return this.#halt ?? this.clientError("reset", osFailure("recv", err));
  }

  startDiscard(): void {
    const reader = this.reader();
    reader.clear();
    const discarder = new Discarder(reader);
    this.#discarder = discarder;
    discarder.done.then((end) => {
      if (this.#scriptDone) return;
      // The client's EOF ends a discarding session quietly; a reset ends it too.
      this.halt(
        end.kind === "eof" ? CLIENT_EOF : this.clientError("reset", osFailure("recv", end.error)),
      );
    });
  }

  random(): Prng {
    this.#prng ??= sessionPrng(this.settings, this.settings.randomSeed);
    return this.#prng;
  }

  debug(message: string): void {
    if (this.#debugOn) this.#logger.log("debug", message, this.#ctx);
  }

  debugTimer(ms: number): void {
    if (!this.#debugOn) return;
    const id = this.#ctx.connection ?? 0;
    this.debug(`event timer add: ${id}: ${Math.ceil(ms)}:${Math.round(performance.now() + ms)}`);
  }

  clientError(end: SessionEnd, message: string): SessionHalt {
    return new SessionHalt(end, message, this.settings.clientErrorLogLevel);
  }

  /** Ends the session (first caller wins): every pending wait rejects with `halt`. */
  halt(halt: SessionHalt): void {
    if (this.#halt) return;
    this.#halt = halt;
    this.#halted?.abort(halt);
    this.output.interrupt(halt); // a wait for the output to drain ends too (see #finish)
    const waits = this.#waits;
    if (waits.length === 0) return;
    this.#waits = [];
    for (const wait of waits) wait.onHalt(halt);
  }

  /** The normal end: lingering close per `echo_lingering_close`. */
  async #finish(): Promise<void> {
    const mode = this.settings.lingeringClose;
    const known = this.discarding || (this.#reader?.unread ?? 0) > 0;
    const firstWait = mode === "always" || known
      ? this.settings.lingeringTimeout
      : Math.min(this.settings.lingeringTimeout, PROBE_MS);
    // No `until` (a wait object per session): a halt interrupts the output's drain wait itself,
    // and the half-close after it is one shutdown(2).
    const closing = this.output.close();
    if (this.#halt) {
      closing.catch(noop);
      throw this.#halt;
    }
    await closing;
    let discarder = this.#discarder;
    let startedAt: number | undefined;
    if (!discarder && !this.#debugOn) {
      // The common case first, without a background discarder: one read under the first wait.
      // EOF (the client closed after the reply) or silence ends lingering here; only a client
      // that keeps sending goes on to the general loop below, from the same start.
      startedAt = clock();
      const wait = Math.min(firstWait, this.settings.lingeringTime);
      if (wait <= 0) return;
      let first: number | null | typeof TIMED_OUT;
      try {
        first = await this.#untilTimeout(this.reader().discard(), wait);
      } catch (err) {
        if (err instanceof SessionHalt) throw err;
        return; // a read error (reset) ends lingering, as in linger()
      }
      if (first === TIMED_OUT) return;
      if (first === null) {
        this.#graceful = true;
        return;
      }
      discarder = new Discarder(this.reader());
    }
    const end = await linger(discarder ?? new Discarder(this.reader()), {
      lingeringTime: this.settings.lingeringTime,
      lingeringTimeout: this.settings.lingeringTimeout,
      // Once data came, the wait for more is the lingering timeout.
      firstWait: startedAt === undefined ? firstWait : this.settings.lingeringTimeout,
      until: (p) => this.until(p),
      onWait: this.#debugOn ? (ms) => this.debugTimer(ms) : undefined,
      startedAt,
    });
    this.#graceful = end === "eof";
  }

  /** After a halt: what may still be sent is sent, then the connection closes. */
  async #afterHalt(halt: SessionHalt): Promise<void> {
    if (this.#closeMode === "reset") return; // queued output is dropped
    if (halt.drain) {
      // A request data mismatch ("close"): what was answered before it still reaches the
      // client, then the connection closes as at the script's end (echo_lingering_close), so
      // input the client already sent does not turn the close into a reset.
      if (!(await this.#bounded(this.output.drained()))) return;
      const mode = this.settings.lingeringClose;
      if (mode === "off" || !(await this.#bounded(this.output.close()))) return;
      const known = this.discarding || (this.#reader?.unread ?? 0) > 0;
      const end = linger(this.#discarder ?? new Discarder(this.reader()), {
        lingeringTime: this.settings.lingeringTime,
        lingeringTimeout: this.settings.lingeringTimeout,
        firstWait: mode === "always" || known
          ? this.settings.lingeringTimeout
          : Math.min(this.settings.lingeringTimeout, PROBE_MS),
      });
      this.#graceful = await this.#bounded(end) && await end === "eof";
      return;
    }
    if (halt.end === "eof") {
      // Discarding saw the client's EOF: send what was queued, then close.
      this.#graceful = await this.#bounded(this.output.drained());
      return;
    }
    if (halt.end === "error" && this.#discarder) {
      // Everything the client sends is being discarded: close without a reset.
      if (!(await this.#bounded(this.output.close()))) return;
      const end = linger(this.#discarder, {
        lingeringTime: this.settings.lingeringTime,
        lingeringTimeout: this.settings.lingeringTimeout,
      });
      this.#graceful = await this.#bounded(end) && await end === "eof";
    }
  }

  /** Waits for `p` unless the server shuts the session down; false if it failed or was cut. */
  async #bounded(p: Promise<unknown>): Promise<boolean> {
    p.catch(() => {});
    const signal = this.#signal;
    if (signal?.aborted) return false;
    let onAbort = () => {};
    const aborted = new Promise<false>((resolve) => {
      onAbort = () => resolve(false);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([p.then(() => true, () => false), aborted]);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * C `close()` after an abrupt end, as nginx: input nobody read turns the close into a reset.
   * No input can be waiting once the client's EOF was read or the connection was reset.
   */
  #cOnClose(): boolean {
    if (this.#graceful || this.#reader?.eof || this.#halt?.end === "reset") return false;
    return (this.#io.unread?.() ?? 0) > 0;
  }

  /**
   * Closes the connection, the way the session ended. Returns a promise only when something
   * must settle first (the common end, a graceful close after the client's EOF, is synchronous).
   */
  #cleanup(): Promise<void> | undefined {
    this.#scriptDone = true;
    this.halt(CLOSING);
    if (this.#closeMode === "reset") return this.#cleanupReset();
    try {
      if (this.#closeMode === "auto" && this.#cOnClose() && this.#io.reset) this.#io.reset();
      else this.#io.close();
    } catch { /* already closed */ }
    if (this.output.busy) return this.output.abandon(SETTLE_MS).then(() => this.#release());
    void this.output.abandon(SETTLE_MS); // resolved: nothing in flight
    return this.#release();
  }

  /**
   * A reset the script asked for (echo_reset, echo_send_limit ... reset): queued output is
   * dropped, writes in flight settle (what was flushed arrives first), then the reset.
   */
  async #cleanupReset(): Promise<void> {
    await this.output.abandon(SETTLE_MS);
    try {
      if (this.#io.reset) this.#io.reset();
      else this.#io.close();
    } catch { /* already closed */ }
    await this.#release();
  }

  /** After the close: the reading side lets go (its buffer to the pool once no read is in flight). */
  #release(): Promise<void> | undefined {
    if (this.#reader?.eof && this.#direct) {
      // The direct path after EOF: no read is in flight and the connection is closed (above),
      // so there is nothing to cancel and the buffer can serve another session at once.
      this.#reader.recycle();
    } else if (this.#reader?.eof) {
      // The reader saw EOF: its stream is closed, and cancelling a closed stream resolves at
      // once, so no settle timer (a setTimeout and a clearTimeout per session) is needed.
      const reader = this.#reader;
      return reader.cancel().then(() => reader.recycle());
    } else if (this.#reader) {
      // Only once the read in flight has settled may its buffer serve another session.
      const reader = this.#reader;
      return withTimeout(reader.cancel(), SETTLE_MS).then((settled) => {
        if (settled !== TIMED_OUT) reader.recycle();
      });
    } else if (this.#direct) {
      // Never read: the connection was closed above; nothing is in flight.
    } else if (!this.#io.readable.locked) {
      return withTimeout(this.#io.readable.cancel().catch(noop), SETTLE_MS).then(noop);
    }
    return undefined;
  }
}
