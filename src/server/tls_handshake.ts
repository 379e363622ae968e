/**
 * The TLS handshake of an accepted connection, done before its session starts, so that a
 * failed handshake is reported as one (as nginx's `while SSL handshaking` lines) and never as
 * a failure of the script's first step.
 *
 * @module
 */
import type { SessionEnd, StopSignal } from "../engine/types.ts";
import type { SocketFd } from "./socket_fd.ts";
import { shutdownSocket } from "./socket_ffi.ts";

/** A handshake that did not complete. */
export interface HandshakeFailure {
  /** How the session ends: "reset", "timeout", "error" or "shutdown". */
  end: SessionEnd;
  /** nginx-style message, e.g. `SSL_do_handshake() failed (...)`. */
  reason: string;
}

/** Options for {@linkcode tlsHandshake}. */
export interface TlsHandshakeOptions {
  /** Give up after this many ms (nginx's `ssl_handshake_timeout`, 60 s by default). */
  timeout: number;
  /** Aborting it ends the handshake at once (fast shutdown). */
  signal?: StopSignal;
  /** The connection's descriptor, captured at accept (socket_fd.ts), to shut it down. */
  socket?: SocketFd | null;
}

/** Is this a TLS connection whose handshake can be driven explicitly? */
export function isTlsConn(conn: Deno.Conn): conn is Deno.TlsConn {
  return typeof (conn as Partial<Deno.TlsConn>).handshake === "function";
}

/**
 * Runs the server side of the handshake. Resolves to undefined when it completed, or to why it
 * did not; never rejects. On failure the caller closes the connection.
 *
 * @example
 * ```ts ignore
 * import { tlsHandshake } from "./tls_handshake.ts";
 * const failure = await tlsHandshake(tlsConn, { timeout: 60_000 });
 * if (failure) throw new Error(`handshake failed (${failure.end}): ${failure.reason}`);
 * ```
 */
export async function tlsHandshake(
  conn: Deno.TlsConn,
  options: TlsHandshakeOptions,
): Promise<HandshakeFailure | undefined> {
  const { signal } = options;
  if (signal?.aborted) return { end: "shutdown", reason: "server shutting down" };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<HandshakeFailure>((resolve) => {
    timer = setTimeout(
      () => resolve({ end: "timeout", reason: "client timed out (110: Connection timed out)" }),
      options.timeout,
    );
    onAbort = () => resolve({ end: "shutdown", reason: "server shutting down" });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  const done = conn.handshake().then(
    () => undefined,
    (err: unknown): HandshakeFailure => describe(err),
  );
  try {
    const outcome = await Promise.race([done, stopped]);
    if (outcome !== undefined) {
      // Mid-handshake, Deno's close() interrupts the operation but leaves the TCP socket open:
      // shut it down underneath first (needs --allow-ffi), then close.
      if (outcome.end === "timeout" || outcome.end === "shutdown") shutdownSocket(options.socket);
      try {
        conn.close();
      } catch { /* already closed */ }
      // The interrupted handshake settles at once; never wait long for it.
      let cap: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([done, new Promise((r) => cap = setTimeout(r, 1000))]);
      clearTimeout(cap);
    }
    return outcome;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

function describe(err: unknown): HandshakeFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (
    err instanceof Deno.errors.UnexpectedEof || err instanceof Deno.errors.ConnectionReset ||
    /unexpected end of file|connection reset|broken pipe/i.test(message)
  ) {
    return { end: "reset", reason: `peer closed connection in SSL handshake (${message})` };
  }
  return { end: "error", reason: `SSL_do_handshake() failed (${message})` };
}
