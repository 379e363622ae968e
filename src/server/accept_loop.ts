/**
 * The accept loop: an explicit `accept()` loop that survives the errors a `for await` over a
 * listener does not (a client that resets before accept gives ENOTCONN/ECONNABORTED; running
 * out of file descriptors gives EMFILE/ENFILE).
 *
 * Between two accepts the loop yields one turn of the event loop (`setImmediate`). With a full
 * accept queue (a client connecting and closing as fast as it can) `accept()` completes at once
 * every time, and a loop that never yields keeps the runtime from polling the sockets of the
 * sessions it already runs: a 6-byte reply's write then took 10-100 ms, finished sessions piled
 * up past `worker_connections`, and thousands of `[alert] 512 worker_connections are not
 * enough` were logged in 5 s. One turn per accept lets every running session move on first; it
 * costs nothing measurable in connections per second (bench/engine_bench.ts).
 *
 * Fewer turns were measured and not taken: under the engine bench's load 99% of accepts complete
 * within 20 us, without waiting (the queue is never empty), so yielding only after an accept that
 * did not wait would save nothing there; one turn every 4 accepts kept the flood test
 * (tests/server_flood_test.ts) quiet, one every 16 logged 1,860 alerts in its 2 s. The loop is
 * callbacks made once per listener, so a turn costs one `Immediate` and one promise reaction.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import type { Logger } from "../log/logger.ts";
import { osReason } from "./listeners.ts";

/** Options for {@linkcode acceptLoop}. */
export interface AcceptLoopOptions {
  /** Where accept errors are logged. */
  logger: Logger;
  /** True once the listener is being closed on purpose: errors then end the loop quietly. */
  stopped: () => boolean;
  /** Pause after EMFILE/ENFILE before accepting again, in ms; doubled for each error in a row,
   * up to 1000. @default {100} */
  exhaustedDelay?: number;
  /** Pause after an unexpected accept error, in ms; doubled for each error in a row, up to
   * 1000. @default {10} */
  errorDelay?: number;
  /** Aborted when the listener is being closed: ends a back-off pause at once, so a stop never
   * waits for one. @default {undefined} */
  signal?: AbortSignal;
}

/** Errors a client causes by going away between the SYN and our accept(). */
const CLIENT_GONE = new Set(["ENOTCONN", "ECONNABORTED", "ECONNRESET", "EPROTO", "EPIPE"]);
/** Errors from running out of descriptors or memory: back off, then try again. */
const EXHAUSTED = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/**
 * Accepts connections until the listener is closed, handing each to `onConn`. Never rejects:
 * a closed listener ends the loop, every other error is logged and the loop goes on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { acceptLoop } from "./accept_loop.ts";
 * import { quietLogger } from "../log/logger.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * let stopped = false;
 * let accepted!: () => void;
 * const one = new Promise<void>((resolve) => accepted = resolve);
 * const done = acceptLoop(listener, (conn) => {
 *   conn.close();
 *   accepted();
 * }, { logger: quietLogger, stopped: () => stopped });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * await one; // the connection reached onConn
 * client.close();
 * stopped = true;
 * listener.close();
 * assert.equal(await done, undefined); // a closed listener ends the loop; it never rejects
 * ```
 */
export function acceptLoop<C extends Deno.Conn>(
  listener: Deno.Listener<C>,
  onConn: (conn: C) => void,
  options: AcceptLoopOptions,
): Promise<void> {
  // Callbacks made once per loop, not an async frame: an `await` per accept and per turn cost
  // a few hundred bytes per connection.
  const { logger, stopped } = options;
  let failures = 0; // consecutive unexpected errors: the pause doubles, up to a second
  let finish!: () => void;
  const done = new Promise<void>((resolve) => finish = resolve);
  const next = (): void => {
    let accepting: Promise<C>;
    try {
      accepting = listener.accept();
    } catch (err) {
      failed(err);
      return;
    }
    accepting.then(accepted, failed);
  };
  const accepted = (conn: C): void => {
    failures = 0;
    if (stopped()) {
      try {
        conn.close();
      } catch { /* already closed */ }
      finish();
      return;
    }
    try {
      onConn(conn);
    } catch (err) {
      logger.log("alert", `accepting a connection failed: ${String(err)}`);
    }
    setImmediate(next); // one turn of the event loop first (see the module's note)
  };
  const failed = (err: unknown): void => {
    if (stopped() || err instanceof Deno.errors.BadResource) {
      finish();
      return;
    }
    const code = errorCode(err);
    if (CLIENT_GONE.has(code) || err instanceof Deno.errors.NotConnected) {
      logger.log("info", `accept() failed (${osReason(err)})`);
      next();
      return;
    }
    const exhausted = EXHAUSTED.has(code);
    logger.log(exhausted ? "crit" : "alert", `accept() failed (${osReason(err)})`);
    const base = exhausted ? options.exhaustedDelay ?? 100 : options.errorDelay ?? 10;
    delay(Math.min(1000, base * 2 ** Math.min(failures++, 10)), options.signal).then(() => {
      if (stopped()) finish();
      else next();
    });
  };
  next();
  return done;
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}

/** Resolves after `ms`, or as soon as `signal` is aborted. */
function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
