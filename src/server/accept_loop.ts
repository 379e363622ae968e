/**
 * The accept loop: an explicit `accept()` loop that survives the errors a `for await` over a
 * listener does not (a client that resets before accept gives ENOTCONN/ECONNABORTED; running
 * out of file descriptors gives EMFILE/ENFILE).
 *
 * @module
 */
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
 * import { acceptLoop } from "./accept_loop.ts";
 * import { quietLogger } from "../log/logger.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * let stopped = false;
 * const done = acceptLoop(listener, (conn) => conn.close(), {
 *   logger: quietLogger,
 *   stopped: () => stopped,
 * });
 * stopped = true;
 * listener.close();
 * await done;
 * ```
 */
export async function acceptLoop<C extends Deno.Conn>(
  listener: Deno.Listener<C>,
  onConn: (conn: C) => void,
  options: AcceptLoopOptions,
): Promise<void> {
  const { logger, stopped } = options;
  let failures = 0; // consecutive unexpected errors: the pause doubles, up to a second
  for (;;) {
    let conn: C;
    try {
      conn = await listener.accept();
      failures = 0;
    } catch (err) {
      if (stopped() || err instanceof Deno.errors.BadResource) return;
      const code = errorCode(err);
      if (CLIENT_GONE.has(code) || err instanceof Deno.errors.NotConnected) {
        logger.log("info", `accept() failed (${osReason(err)})`);
        continue;
      }
      const exhausted = EXHAUSTED.has(code);
      logger.log(exhausted ? "crit" : "alert", `accept() failed (${osReason(err)})`);
      const base = exhausted ? options.exhaustedDelay ?? 100 : options.errorDelay ?? 10;
      await delay(Math.min(1000, base * 2 ** Math.min(failures++, 10)));
      if (stopped()) return;
      continue;
    }
    if (stopped()) {
      try {
        conn.close();
      } catch { /* already closed */ }
      return;
    }
    onConn(conn);
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
