/**
 * The running server: listeners, accept loops, sessions, shutdown and reload.
 *
 * @module
 */
import type { Config, Listen, ServerConfig, TlsSettings } from "../config/types.ts";
import { ConfigError } from "../config/errors.ts";
import type { LogContext, Logger } from "../log/logger.ts";
import { quietLogger, safeLogger } from "../log/logger.ts";
import type { SessionIO, SessionResult } from "../engine/types.ts";
import { runSession, SESSION_ACTION } from "../engine/session.ts";
import { connIO } from "./transport.ts";
import { captureSocket, type SocketFd } from "./socket_fd.ts";
import type { ServerHandle, ServerOptions, SessionInfo, SessionObserver } from "./types.ts";
import { acceptLoop } from "./accept_loop.ts";
import { type BoundListener, formatAddr, listenerKey, openListener, sameTls } from "./listeners.ts";
import { SessionSet } from "./session_set.ts";
import { isTlsConn, tlsHandshake } from "./tls_handshake.ts";

/** Which server block a listener currently serves; swapped atomically by reload. */
interface Route {
  server: ServerConfig;
  serverIndex: number;
}

/** One open listener, its accept loop, and the route new connections on it take. */
interface Slot {
  bound: BoundListener;
  route: Route;
  listen: Listen;
  stopped: boolean;
  loop: Promise<void>;
}

/** A listen directive of a config together with the server block it belongs to. */
interface Wanted {
  listen: Listen;
  tls?: TlsSettings;
  route: Route;
}

/**
 * Binds every listener of `config` and starts serving. Rejects with a `ListenError` (naming the
 * `listen` directive and its file:line) when an address cannot be bound, or a `ConfigError` when
 * two `listen` directives name the same address.
 *
 * @example
 * ```ts ignore
 * import { startServer } from "./server.ts";
 * import { parseConfig } from "../config/loader.ts";
 * const config = parseConfig('stream { server { listen 127.0.0.1:0; echo hi; } }');
 * await using server = await startServer(config);
 * const { port } = server.addrs[0] as Deno.NetAddr;
 * const conn = await Deno.connect({ port });
 * console.log(new TextDecoder().decode((await new Response(conn.readable).bytes())));
 * ```
 */
export async function startServer(
  config: Config,
  options: ServerOptions = {},
): Promise<ServerHandle> {
  const server = new Server(config, options);
  await server.start();
  return server;
}

class Server implements ServerHandle {
  #config: Config;
  #logger: Logger;
  #observer: SessionObserver | undefined;
  #signal: AbortSignal | undefined;
  #onAbort = () => void this.close();
  #slots: Slot[] = [];
  #sessions = new SessionSet();
  #connections = 0;
  #reloads: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;
  #capTimer: ReturnType<typeof setTimeout> | undefined;
  #resolveFinished!: () => void;
  readonly finished: Promise<void>;
  #onListen: ((addrs: Deno.Addr[]) => void) | undefined;

  constructor(config: Config, options: ServerOptions) {
    this.#config = config;
    // The caller's logger may throw (a library user's callback, a full disk): never let that
    // reach the accept loop or a session.
    this.#logger = options.logger ? safeLogger(options.logger) : quietLogger;
    this.#observer = options.observer;
    this.#signal = options.signal;
    this.#onListen = options.onListen;
    this.finished = new Promise((resolve) => this.#resolveFinished = resolve);
  }

  get addrs(): Deno.Addr[] {
    return this.#slots.map((s) => s.bound.addr);
  }

  async start(): Promise<void> {
    const wanted = wantedListeners(this.#config);
    const bound: BoundListener[] = [];
    try {
      for (const w of wanted) bound.push(await this.#open(w));
    } catch (err) {
      for (const b of bound) b.close();
      throw err;
    }
    this.#slots = wanted.map((w, i) => this.#startSlot(bound[i], w));
    if (this.#signal) {
      if (this.#signal.aborted) {
        void this.close();
      } else {
        this.#signal.addEventListener("abort", this.#onAbort, { once: true });
      }
    }
    try {
      this.#onListen?.(this.addrs);
    } catch (err) {
      await this.close(); // a throwing callback must not leave sockets open behind a rejection
      throw err;
    }
  }

  shutdown(): Promise<void> {
    return this.#stop(false);
  }

  close(): Promise<void> {
    return this.#stop(true);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  reload(config: Config): Promise<void> {
    // One reload at a time, in call order; a failed one does not stop the next.
    const run = this.#reloads.then(() => this.#reload(config));
    this.#reloads = run.catch(() => {});
    return run;
  }

  async #reload(config: Config): Promise<void> {
    if (this.#stopping) throw new Error("the server is shutting down");
    const wanted = wantedListeners(config);
    // Old listeners are matched by the key of their listen line as written (several
    // `listen 127.0.0.1:0` lines share a key and are matched up in order), then by the address
    // they actually bound (so `listen 127.0.0.1:0` reloaded as `listen 127.0.0.1:40123` keeps
    // the socket that got port 40123).
    const taken = new Set<Slot>();
    const pick = (key: (s: Slot) => string, want: string, tls: TlsSettings | undefined) =>
      this.#slots.find((s) => !taken.has(s) && key(s) === want && sameTls(s.bound.tls, tls));
    const kept = new Map<Wanted, Slot>();
    const toOpen: Wanted[] = [];
    for (const w of wanted) {
      const tls = w.listen.ssl ? w.tls : undefined;
      const want = listenerKey(w.listen);
      const slot = pick((s) => s.bound.key, want, tls) ?? pick(boundKey, want, tls);
      if (slot) {
        kept.set(w, slot);
        taken.add(slot);
      } else {
        toOpen.push(w);
      }
    }
    const removed = this.#slots.filter((s) => !taken.has(s));
    const opened = await this.#openAll(toOpen, removed);
    if (this.#stopping) {
      // A shutdown began while sockets were being opened: drop the new ones.
      for (const b of opened.values()) b.close();
      throw new Error("the server is shutting down");
    }
    // Commit: nothing below can fail.
    this.#config = config;
    const next: Slot[] = [];
    for (const w of wanted) {
      const slot = kept.get(w);
      if (slot) {
        slot.route = w.route;
        slot.listen = w.listen;
        next.push(slot);
      } else {
        next.push(this.#startSlot(opened.get(w)!, w));
      }
    }
    for (const s of removed) this.#stopSlot(s);
    this.#slots = next;
    await Promise.all(removed.map((s) => s.loop));
  }

  /**
   * Opens the listeners a reload adds. One that clashes with a listener being removed (same
   * port or path, e.g. a changed certificate, or `127.0.0.1:80` becoming `*:80`) is opened
   * after closing that one. On failure every socket opened here is closed, removed listeners
   * closed here are reopened, and the error is thrown: the old config keeps serving.
   */
  async #openAll(toOpen: Wanted[], removed: Slot[]): Promise<Map<Wanted, BoundListener>> {
    const opened = new Map<Wanted, BoundListener>();
    const deferred: Wanted[] = [];
    const closedEarly: Slot[] = [];
    try {
      for (const w of toOpen) {
        const clash = removed.filter((s) => clashes(s, w.listen));
        if (clash.length > 0) {
          deferred.push(w);
          continue;
        }
        opened.set(w, await this.#open(w));
      }
      for (const w of deferred) {
        for (const s of removed) {
          if (!s.stopped && clashes(s, w.listen)) {
            this.#stopSlot(s);
            closedEarly.push(s);
            await s.loop; // the socket is released once the pending accept() has ended
          }
        }
        opened.set(w, await this.#open(w));
      }
    } catch (err) {
      for (const b of opened.values()) b.close();
      for (const s of closedEarly) await this.#reopen(s);
      throw err;
    }
    return opened;
  }

  async #reopen(slot: Slot): Promise<void> {
    await slot.loop;
    // A stop that began meanwhile wants every listener closed: reopening would leave one that
    // nothing ever stops, still accepting after `finished`.
    if (this.#stopping) return;
    try {
      const bound = await this.#open({
        listen: slot.listen,
        tls: slot.bound.tls,
        route: slot.route,
      });
      if (this.#stopping) {
        bound.close();
        return;
      }
      const fresh = this.#startSlot(bound, { listen: slot.listen, route: slot.route });
      this.#slots[this.#slots.indexOf(slot)] = fresh;
    } catch (err) {
      this.#logger.log("alert", `could not reopen listener after a failed reload: ${message(err)}`);
    }
  }

  #open(w: Wanted): Promise<BoundListener> {
    return openListener(w.listen, { ...(w.tls ? { tls: w.tls } : {}), logger: this.#logger });
  }

  #startSlot(bound: BoundListener, w: Wanted): Slot {
    const slot: Slot = {
      bound,
      route: w.route,
      listen: w.listen,
      stopped: false,
      loop: Promise.resolve(),
    };
    slot.loop = acceptLoop(bound.listener, (conn) => this.#accepted(conn, slot), {
      logger: this.#logger,
      stopped: () => slot.stopped,
    });
    return slot;
  }

  #stopSlot(slot: Slot): void {
    slot.stopped = true;
    slot.bound.close();
  }

  #accepted(conn: Deno.Conn, slot: Slot): void {
    const route = slot.route;
    const listen = slot.listen;
    const limit = this.#config.main.workerConnections;
    if (this.#sessions.size >= limit) {
      // nginx's behaviour when its connection table is full: say so and drop the newcomer.
      this.#logger.log("alert", `${limit} worker_connections are not enough`);
      try {
        conn.close();
      } catch { /* already gone */ }
      return;
    }
    // The descriptor is found now, right after accept (socket_fd.ts): for resets and shutdowns.
    const socket = captureSocket(conn);
    const id = ++this.#connections;
    // Nagle is turned off by connIO (once per connection: the setsockopt is not free).
    if (isTcp(conn) && listen.kind === "tcp" && listen.keepAlive !== undefined) {
      try {
        conn.setKeepAlive(listen.keepAlive);
      } catch { /* the client may already be gone; the session will notice */ }
    }
    const info: SessionInfo = {
      id,
      remoteAddr: conn.remoteAddr,
      localAddr: conn.localAddr,
      serverIndex: route.serverIndex,
    };
    const server = formatAddr(conn.localAddr);
    const client = clientName(conn.remoteAddr);
    if (this.#logger.enabled("info")) {
      this.#logger.log(
        "info",
        `client ${formatAddr(conn.remoteAddr)} connected to ${server}`,
        { connection: id },
      );
    }
    const context: LogContext = {
      connection: id,
      client,
      server,
      action: SESSION_ACTION,
    };
    this.#sessions.run((signal) => this.#session(conn, socket, route, info, context, signal));
  }

  async #session(
    conn: Deno.Conn,
    socket: SocketFd | null,
    route: Route,
    info: SessionInfo,
    context: LogContext,
    signal: AbortSignal,
  ): Promise<void> {
    const startedAt = new Date();
    let io: SessionIO | undefined;
    let result: SessionResult;
    try {
      const failed = isTlsConn(conn)
        ? await tlsHandshake(conn, { timeout: route.server.settings.readTimeout, signal, socket })
        : undefined;
      if (failed) {
        result = { end: failed.end, reason: failed.reason, bytesIn: 0, bytesOut: 0 };
        if (failed.end !== "shutdown") {
          this.#logger.log(route.server.settings.clientErrorLogLevel, failed.reason, {
            ...context,
            action: "SSL handshaking",
          });
        }
      } else {
        io = connIO(conn, { socket });
        if (this.#observer?.wrap) io = this.#observer.wrap(io, info);
        result = await runSession(
          { steps: route.server.steps, settings: route.server.settings },
          io,
          { logger: this.#logger, context, signal },
        );
      }
    } catch (err) {
      // runSession never rejects; this is connIO or an observer failing.
      result = { end: "error", reason: message(err), bytesIn: 0, bytesOut: 0 };
      this.#logger.log("alert", `stream session failed: ${message(err)}`, context);
    } finally {
      // io.close() is idempotent and closes the connection (runSession has normally done it
      // already); closing conn again would throw on every session. Only a connection that never
      // got its io (failed handshake, connIO failing) is closed here directly.
      try {
        if (io) {
          io.close();
        } else {
          socket?.release();
          conn.close();
        }
      } catch { /* already closed */ }
    }
    this.#ended(info, result, startedAt, context);
  }

  #ended(info: SessionInfo, result: SessionResult, startedAt: Date, context: LogContext): void {
    if (!this.#observer?.ended) return;
    try {
      this.#observer.ended(info, result, startedAt, new Date());
    } catch (err) {
      this.#logger.log("alert", `session observer failed: ${message(err)}`, context);
    }
  }

  #stop(fast: boolean): Promise<void> {
    if (fast) this.#sessions.abortAll();
    if (this.#stopping) return this.#stopping;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    for (const s of this.#slots) this.#stopSlot(s);
    const cap = this.#config.main.workerShutdownTimeout;
    if (!fast && cap !== undefined && this.#sessions.size > 0) {
      this.#capTimer = setTimeout(() => {
        if (this.#sessions.size > 0) {
          this.#logger.log(
            "notice",
            `worker_shutdown_timeout expired: closing ${this.#sessions.size} session(s)`,
          );
        }
        this.#sessions.abortAll();
      }, cap);
    }
    this.#stopping = (async () => {
      await Promise.all(this.#slots.map((s) => s.loop));
      await this.#sessions.drained();
      clearTimeout(this.#capTimer);
      this.#resolveFinished();
    })();
    return this.#stopping;
  }
}

/** Every listen directive of a config in order, checking that no address is listed twice. */
function wantedListeners(config: Config): Wanted[] {
  const seen = new Set<string>();
  const out: Wanted[] = [];
  config.servers.forEach((server, serverIndex) => {
    const route = { server, serverIndex };
    for (const listen of server.listen) {
      const key = listen.kind === "unix"
        ? `unix:${listen.path}`
        : `${listen.hostname}|${listen.port}`;
      if (listen.kind === "unix" || listen.port !== 0) {
        if (seen.has(key)) {
          throw new ConfigError(`duplicate "${listen.address}" address and port pair`, listen.pos);
        }
        seen.add(key);
      }
      out.push({ listen, ...(server.tls ? { tls: server.tls } : {}), route });
    }
  });
  return out;
}

/** Could this open listener and this listen line not be bound at once (same port or path)? */
function clashes(slot: Slot, b: Listen): boolean {
  const a = slot.listen;
  if (a.kind === "unix" || b.kind === "unix") {
    return a.kind === "unix" && b.kind === "unix" && a.path === b.path;
  }
  return b.port !== 0 && boundPort(slot) === b.port;
}

/** The port a TCP listener actually bound (its written port may be 0). */
function boundPort(slot: Slot): number {
  const addr = slot.bound.addr;
  return addr.transport === "tcp" ? addr.port : -1;
}

/** The reload key of an open listener with its written port replaced by the bound one. */
function boundKey(slot: Slot): string {
  const l = slot.listen;
  return l.kind === "tcp" ? listenerKey({ ...l, port: boundPort(slot) }) : slot.bound.key;
}

/** The client as nginx logs it: the IP address alone, or `unix:`. */
function clientName(addr: Deno.Addr): string {
  if (addr.transport === "tcp" || addr.transport === "udp") return addr.hostname;
  if (addr.transport === "unix" || addr.transport === "unixpacket") return "unix:";
  return formatAddr(addr);
}

function isTcp(conn: Deno.Conn): conn is Deno.TcpConn {
  return "setNoDelay" in conn && typeof conn.setNoDelay === "function";
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
