/**
 * Opening the sockets behind `listen` directives: TCP over IPv4 and IPv6, TLS, and Unix-domain
 * stream sockets, with the options Deno exposes.
 *
 * What Deno can and cannot do here (Deno 2.x):
 * - `backlog=N` maps to `tcpBacklog` for TCP and TLS; Unix listeners have no backlog option
 *   (Deno uses its default, 511) and a configured one is reported as ignored.
 * - `reuseport` maps to `reusePort`, which Deno only accepts with `--unstable-net` (and which
 *   only has an effect on Linux). Without the flag the listener is opened without it and a
 *   warning says so.
 * - `so_keepalive=on|off` is applied per accepted TCP connection (`setKeepAlive`); Deno has no
 *   keepalive (nor `setNoDelay`) for TLS connections, so it is ignored there, with a warning.
 *   Nagle is turned off for TLS through the listening socket instead (socket_ffi.ts).
 *   The idle/interval/count form `so_keepalive=30m::10` cannot be expressed.
 * - `listen unix:... ssl` is refused: Deno's TLS listener only speaks TCP.
 * - `ipv6only` cannot be set: `[::]:PORT` accepts IPv4 clients too where the OS allows it.
 *
 * @module
 */
import type { Listen, TlsSettings } from "../config/types.ts";
import type { Logger } from "../log/logger.ts";
import { ListenError } from "./listen_error.ts";
import { setListenerNoDelay, socketFfiUnavailable } from "./socket_ffi.ts";

/** An open listener plus what the server needs to know about it. */
export interface BoundListener {
  /** Identity used by reload: equal keys mean "the same socket can stay open". */
  readonly key: string;
  /** The directive it was opened for. */
  readonly listen: Listen;
  /** The certificate it serves (TLS listeners only). */
  readonly tls?: TlsSettings;
  /** The Deno listener. */
  readonly listener: Deno.Listener;
  /** The address actually bound (port 0 resolved). */
  readonly addr: Deno.Addr;
  /**
   * True when the listening socket has `TCP_NODELAY`, which the connections it accepts inherit:
   * they need no `setNoDelay` of their own.
   */
  readonly noDelay?: boolean;
  /** Stop listening; a Unix socket file this listener created is removed. Idempotent. */
  close(): void;
}

/** Options for {@linkcode openListener}. */
export interface OpenListenerOptions {
  /** Certificate and key; required when `listen.ssl` is set. @default {undefined} */
  tls?: TlsSettings;
  /** Where warnings about unsupported options go. @default {undefined} (none) */
  logger?: Logger;
}

/**
 * The reload identity of a listen directive: kind, address and socket options. Two directives
 * with the same key can share one open socket. TLS material is compared separately
 * ({@linkcode sameTls}), because Deno cannot swap a TLS listener's certificate in place.
 */
export function listenerKey(listen: Listen): string {
  if (listen.kind === "unix") return `unix|${listen.path}|${listen.ssl ? "ssl" : ""}`;
  return [
    "tcp",
    listen.hostname,
    listen.port,
    listen.ssl ? "ssl" : "",
    listen.reusePort ? "reuseport" : "",
    listen.backlog ?? "",
  ].join("|");
}

/** TCP listens whose `reusePort` only lets this process's workers share the port. */
const WORKERS_ONLY = new WeakSet<Listen>();

/**
 * `listen` with `reusePort`, so that this process's worker threads can join its port, but not
 * another process: opening it first checks, with a plain bind, that nothing else holds the port
 * (another stream-echo with workers would otherwise silently share it and take half the
 * connections). A `listen ... reuseport` of the config is left as it is: sharing is asked for.
 */
export function reusePortForWorkers(listen: Listen & { kind: "tcp" }): Listen {
  if (listen.reusePort) return listen;
  const shared = { ...listen, reusePort: true };
  WORKERS_ONLY.add(shared);
  return shared;
}

/** Do two TLS settings serve the same certificate and key? */
export function sameTls(a: TlsSettings | undefined, b: TlsSettings | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.cert === b.cert && a.key === b.key;
}

/** Formats an OS error the way nginx does: `98: Address already in use`. */
export function osReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const m = /^(.*?) \(os error (\d+)\)/.exec(message);
  return m ? `${m[2]}: ${m[1]}` : message;
}

/** Renders a bound address for log lines: `127.0.0.1:1234`, `[::1]:1234`, `unix:/path`. */
export function formatAddr(addr: Deno.Addr): string {
  if (addr.transport === "unix" || addr.transport === "unixpacket") {
    return `unix:${addr.path ?? ""}`;
  }
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`;
  }
  return String((addr as { transport: string }).transport);
}

/**
 * Opens the socket for one `listen` directive. Rejects with {@linkcode ListenError} (naming the
 * directive and its file:line) when the address cannot be bound.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openListener } from "./listeners.ts";
 * const bound = await openListener({
 *   kind: "tcp", address: "127.0.0.1:0", hostname: "127.0.0.1", port: 0, ssl: false,
 *   reusePort: false, pos: { file: "se.conf", line: 3 },
 * });
 * assert.equal(bound.addr.transport, "tcp");
 * bound.close();
 * ```
 */
export async function openListener(
  listen: Listen,
  options: OpenListenerOptions = {},
): Promise<BoundListener> {
  const tls = options.tls;
  if (listen.ssl && tls === undefined) {
    throw new ListenError(
      'no "ssl_certificate" is defined for the "listen ... ssl" directive',
      listen,
    );
  }
  if (listen.kind === "unix") return await openUnix(listen, options);
  const base = {
    hostname: listen.hostname,
    port: listen.port,
    ...(listen.backlog !== undefined ? { tcpBacklog: listen.backlog } : {}),
  };
  if (listen.ssl && listen.keepAlive !== undefined) {
    warn(options, `"so_keepalive" is ignored on ssl listeners (not supported by Deno)`, listen);
  }
  const open = (reusePort: boolean): Deno.Listener => {
    const opts = reusePort ? { ...base, reusePort: true } : base;
    return tls && listen.ssl
      ? Deno.listenTls({ ...opts, cert: tls.cert, key: tls.key })
      : Deno.listen(opts);
  };
  let listener: Deno.Listener;
  try {
    // Without --unstable-net, Deno 2.9 ends the whole process on `reusePort` instead of
    // throwing: ask first.
    if (listen.reusePort && !unstableNet()) {
      warn(options, `"reuseport" needs Deno's --unstable-net flag; listening without it`, listen);
      listener = open(false);
    } else {
      // Port 0 needs no check: the kernel picks a port nobody holds.
      if (WORKERS_ONLY.has(listen) && listen.port !== 0) Deno.listen(base).close();
      try {
        listener = open(listen.reusePort);
      } catch (err) {
        if (!listen.reusePort || !isUnstableError(err)) throw err;
        warn(options, `"reuseport" needs Deno's --unstable-net flag; listening without it`, listen);
        listener = open(false);
      }
    }
  } catch (err) {
    throw new ListenError(osReason(err), listen, { cause: err });
  }
  // Nagle off once, on the listening socket: accepted sockets inherit TCP_NODELAY, so no
  // connection pays a setsockopt of its own (and TLS connections could not set it at all). Not
  // under reuseport: another listening socket of this process (a worker's) may hold the port.
  const noDelay = (listen.ssl || !listen.reusePort) && setListenerNoDelay(listener);
  if (listen.ssl && !noDelay) {
    const why = socketFfiUnavailable() ?? "its socket was not found";
    options.logger?.log(
      "notice",
      `TLS connections keep Nagle's algorithm on (${why}): small replies may wait for the ` +
        `client's delayed ACK, for "listen ${listen.address}" in ${listen.pos.file}:${listen.pos.line}`,
    );
  }
  return makeBound(listen, listener, listen.ssl ? tls : undefined, () => {}, noDelay);
}

async function openUnix(listen: Listen & { kind: "unix" }, options: OpenListenerOptions) {
  if (listen.backlog !== undefined) {
    warn(options, `"backlog" is ignored on unix listeners (not supported by Deno)`, listen);
  }
  await clearStaleSocket(listen);
  if (listen.ssl) {
    throw new ListenError("ssl is not supported on unix sockets by Deno", listen);
  }
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ transport: "unix", path: listen.path });
  } catch (err) {
    throw new ListenError(osReason(err), listen, { cause: err });
  }
  const ino = inode(listen.path);
  return makeBound(listen, listener, undefined, () => {
    // Deno removes the file on close; make sure, but never remove someone else's socket.
    if (ino !== undefined && inode(listen.path) === ino) {
      try {
        Deno.removeSync(listen.path);
      } catch { /* already gone */ }
    }
  });
}

/**
 * A socket file left behind by a process that died is removed; one where something still
 * answers is an error ("address already in use"); a file that is not a socket is left alone
 * (the bind then fails with the OS's reason).
 */
async function clearStaleSocket(listen: Listen & { kind: "unix" }): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(listen.path);
  } catch {
    return; // nothing there
  }
  if (!info.isSocket) return;
  try {
    const probe = await Deno.connect({ transport: "unix", path: listen.path });
    probe.close();
  } catch (err) {
    if (err instanceof Deno.errors.ConnectionRefused || err instanceof Deno.errors.NotFound) {
      try {
        Deno.removeSync(listen.path);
      } catch { /* raced with someone else: the bind will tell */ }
    }
    return;
  }
  throw new ListenError("98: Address already in use, a live socket answers there", listen);
}

function inode(path: string): number | undefined {
  try {
    return Deno.lstatSync(path).ino ?? undefined;
  } catch {
    return undefined;
  }
}

function makeBound(
  listen: Listen,
  listener: Deno.Listener,
  tls: TlsSettings | undefined,
  afterClose: () => void,
  noDelay = false,
): BoundListener {
  let closed = false;
  return {
    key: listenerKey(listen),
    listen,
    ...(tls ? { tls } : {}),
    listener,
    addr: listener.addr,
    noDelay,
    close() {
      if (closed) return;
      closed = true;
      try {
        listener.close();
      } catch { /* already closed */ }
      afterClose();
    },
  };
}

/**
 * Was Deno started with `--unstable-net` (which `reusePort` needs)? The unstable network APIs
 * (`Deno.listenDatagram`) exist only then.
 */
export function unstableNet(): boolean {
  return typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function";
}

function isUnstableError(err: unknown): boolean {
  return err instanceof Error && /unstable/i.test(err.message);
}

function warn(options: OpenListenerOptions, message: string, listen: Listen): void {
  options.logger?.log("warn", `${message} in ${listen.pos.file}:${listen.pos.line}`);
}
