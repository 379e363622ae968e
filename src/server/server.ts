/**
 * The running server: sessions (TLS handshake, then the steps), and shutdown. Its listeners and
 * their reload are a {@linkcode ListenerSet} (the decision itself is the pure
 * src/server/reload_plan.ts).
 *
 * @module
 */
import type { Config } from "../config/types.ts";
import type { LogContext, Logger } from "../log/logger.ts";
import { quietLogger, safeLogger } from "../log/logger.ts";
import type { SessionIO, SessionOptions, SessionResult, StopSignal } from "../engine/types.ts";
import { runSession, SESSION_ACTION } from "../engine/session.ts";
import { connIO } from "./transport.ts";
import { captureSocket, type SocketFd } from "./socket_fd.ts";
import type { RunningServer, ServerOptions, SessionInfo, SessionObserver } from "./types.ts";
import { formatAddr } from "./listeners.ts";
import { ListenerSet, type Route, type Slot, wantedListeners } from "./listener_set.ts";
import { SessionEntry, SessionSet } from "./session_set.ts";
import { BurstRelease } from "./burst_release.ts";
import { seconds } from "../log/variables.ts";
import { ShutdownProgress } from "./shutdown_progress.ts";
import { isTlsConn, tlsHandshake } from "./tls_handshake.ts";

/**
 * Binds every listener of `config` and starts serving. Rejects with a `ListenError` (naming the
 * `listen` directive and its file:line) when an address cannot be bound, or a `ConfigError` when
 * two `listen` directives name the same address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./server.ts";
 * import { parseConfig } from "../config/loader.ts";
 * const config = parseConfig("stream { server { listen 127.0.0.1:0; echo hi; } }");
 * await using server = await startServer(config);
 * const { port } = server.addrs[0] as Deno.NetAddr;
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port });
 * assert.equal(await new Response(conn.readable).text(), "hi\n");
 * ```
 */
export async function startServer(
  config: Config,
  options: ServerOptions = {},
): Promise<RunningServer> {
  const server = new Server(config, options);
  await server.start();
  return server;
}

class Server implements RunningServer {
  #config: Config;
  #logger: Logger;
  #observer: SessionObserver | undefined;
  #signal: AbortSignal | undefined;
  #onAbort = () => void this.close();
  #listeners: ListenerSet;
  #sessions = new SessionSet();
  #burst: BurstRelease;
  #connections = 0;
  #serverNames = new Map<number, { hostname: string; text: string }>();
  #nextId: number;
  readonly #idStep: number;
  readonly #takeId: (() => number) | undefined;
  readonly #stopProgress: boolean;
  onSessionEnded: (() => void) | undefined;
  #reloads: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;
  #capTimer: ReturnType<typeof setTimeout> | undefined;
  #progress: ShutdownProgress | undefined;
  /** 1 while a session's end is reported: it has ended but leaves the set just after. */
  #reporting = 0;
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
    const ids = options.connectionIds;
    this.#takeId = typeof ids === "function" ? ids : undefined;
    this.#nextId = typeof ids === "object" ? ids.first : 1;
    this.#idStep = typeof ids === "object" ? ids.step : 1;
    this.#stopProgress = options.stopProgress ?? true;
    this.#sessions.onEnded = () => {
      this.#progress?.changed();
      this.onSessionEnded?.();
    };
    this.finished = new Promise((resolve) => this.#resolveFinished = resolve);
    this.#burst = new BurstRelease({ logger: this.#logger });
    this.#listeners = new ListenerSet({
      logger: this.#logger,
      onConn: (conn, slot) => this.#accepted(conn, slot),
      stopping: () => this.#stopping !== undefined,
    });
  }

  get addrs(): Deno.Addr[] {
    return this.#listeners.addrs;
  }

  /** Sessions in flight; one whose end is being reported (logs, observer) no longer counts. */
  get sessionCount(): number {
    return this.#sessions.size - this.#reporting;
  }

  get accepted(): number {
    return this.#connections;
  }

  async start(): Promise<void> {
    await this.#listeners.start(wantedListeners(this.#config));
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

  /** Fast, like the library handle's: `await using` never waits for a session still running. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  reload(config: Config): Promise<void> {
    // One reload at a time, in call order; a failed one does not stop the next.
    const run = this.#reloads.then(() => this.#reload(config));
    this.#reloads = run.catch(() => {});
    return run;
  }

  async #reload(config: Config): Promise<void> {
    if (this.#stopping) throw new Error("the server is shutting down");
    await this.#listeners.reload(wantedListeners(config));
    this.#config = config;
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
    this.#connections++;
    let id: number;
    if (this.#takeId === undefined) {
      id = this.#nextId;
      this.#nextId += this.#idStep;
    } else id = this.#takeId();
    // Nagle is off from the listening socket on (`noDelay`), or turned off by connIO (once per
    // connection: the setsockopt is not free).
    if (listen.kind === "tcp" && listen.keepAlive !== undefined && isTcp(conn)) {
      try {
        conn.setKeepAlive(listen.keepAlive);
      } catch { /* the client may already be gone; the session will notice */ }
    }
    const localAddr = conn.localAddr;
    const remoteAddr = conn.remoteAddr;
    const server = this.#serverName(localAddr);
    if (this.#logger.enabled("info")) {
      this.#logger.log("info", `client ${formatAddr(remoteAddr)} connected to ${server}`, {
        connection: id,
      });
    }
    const context: LogContext = {
      connection: id,
      client: clientName(remoteAddr),
      server,
      action: SESSION_ACTION,
    };
    // What observers are told; only built for them.
    const info: SessionInfo | undefined = this.#observer === undefined ? undefined : {
      id,
      remoteAddr,
      localAddr,
      serverIndex: route.serverIndex,
      server: route.server,
    };
    const session = new ServedSession(conn, socket, route, this.#logger, context, info);
    session.hasNoDelay = slot.bound.noDelay === true;
    this.#sessions.add(session);
    session.done = this.#session(session);
    this.#burst.note(this.#sessions.size);
  }

  /**
   * `formatAddr(addr)` for a session's local address: the same few strings for every session,
   * kept by port (a listener's sessions share its address, or one of the host's).
   */
  #serverName(addr: Deno.Addr): string {
    if (addr.transport !== "tcp") return formatAddr(addr);
    const known = this.#serverNames.get(addr.port);
    if (known !== undefined && known.hostname === addr.hostname) return known.text;
    const text = formatAddr(addr);
    if (this.#serverNames.size >= 256) this.#serverNames.clear();
    this.#serverNames.set(addr.port, { hostname: addr.hostname, text });
    return text;
  }

  /**
   * Serves one session: a TLS connection's handshake first, then the steps. No async frame on
   * the plain path: one reaction on the session's promise.
   */
  #session(session: ServedSession): Promise<void> {
    session.startedAt = Date.now();
    const conn = session.conn;
    return isTlsConn(conn) ? this.#handshake(session, conn) : this.#steps(session);
  }

  async #handshake(session: ServedSession, conn: Deno.TlsConn): Promise<void> {
    const route = session.route;
    let failed;
    try {
      failed = await tlsHandshake(conn, {
        timeout: route.server.settings.readTimeout,
        signal: session,
        socket: session.socket,
      });
    } catch (err) {
      this.#failed(session, undefined, err);
      return;
    }
    if (!failed) return this.#steps(session);
    if (failed.end !== "shutdown") {
      this.#logger.log(route.server.settings.clientErrorLogLevel, failed.reason, {
        ...session.context,
        action: "SSL handshaking",
      });
    }
    this.#finish(session, undefined, {
      end: failed.end,
      reason: failed.reason,
      bytesIn: 0,
      bytesOut: 0,
    });
  }

  #steps(session: ServedSession): Promise<void> {
    let io: SessionIO | undefined;
    try {
      // The session as connIO's options: its `socket` and `hasNoDelay`, the defaults for the rest.
      io = connIO(session.conn, session);
      if (this.#observer?.wrap) io = this.#observer.wrap(io, session.info!);
    } catch (err) {
      this.#failed(session, io, err);
      return SETTLED;
    }
    const served = io;
    return runSession(session.route.server, served, session).then(
      (result) => this.#finish(session, served, result),
      (err) => this.#failed(session, served, err), // never: runSession does not reject
    );
  }

  /** connIO, an observer or the handshake failed. */
  #failed(session: ServedSession, io: SessionIO | undefined, err: unknown): void {
    this.#logger.log("alert", `stream session failed: ${message(err)}`, session.context);
    this.#finish(session, io, { end: "error", reason: message(err), bytesIn: 0, bytesOut: 0 });
  }

  /** The session is over: its connection closed, its end reported, its slot freed. */
  #finish(session: ServedSession, io: SessionIO | undefined, result: SessionResult): void {
    // io.close() is idempotent and closes the connection (runSession has normally done it
    // already); closing conn again would throw on every session. Only a connection that never
    // got its io (failed handshake, connIO failing) is closed here directly.
    try {
      if (io) {
        io.close();
      } else {
        session.socket?.release();
        session.conn.close();
      }
    } catch { /* already closed */ }
    // An observer may stop the server here (--exit-after): this session is over, so a graceful
    // stop must not count it as one to wait for. #ended is synchronous.
    this.#reporting = 1;
    try {
      this.#ended(session, result, session.startedAt);
    } catch { /* never: #ended catches what may throw (its logger is a safe one) */ }
    this.#reporting = 0;
    this.#sessions.end(session);
    this.#burst.note(this.#sessions.size);
  }

  #ended(session: ServedSession, result: SessionResult, startedAt: number): void {
    const logInfo = this.#logger.enabled("info");
    const observer = this.#observer;
    if (!logInfo && !observer?.ended) return;
    const endedAt = Date.now();
    const context = session.context;
    if (logInfo) {
      // nginx's stream proxy line ("bytes from/to client:N/M"), with the duration and the end.
      const time = seconds(Math.max(0, endedAt - startedAt));
      this.#logger.log(
        "info",
        `stream session ended: ${result.end}, bytes from/to client:${result.bytesIn}/` +
          `${result.bytesOut}, session time:${time}`,
        { connection: context.connection, client: context.client, server: context.server },
      );
    }
    if (!observer?.ended) return;
    try {
      observer.ended(session.info!, result, startedAt, endedAt);
    } catch (err) {
      this.#logger.log("alert", `session observer failed: ${message(err)}`, context);
    }
  }

  #stop(fast: boolean): Promise<void> {
    if (fast) {
      this.#progress?.end();
      this.#sessions.abortAll();
    }
    if (this.#stopping) return this.#stopping;
    this.#burst.stop();
    this.#signal?.removeEventListener("abort", this.#onAbort);
    const listenersClosed = this.#listeners.stop();
    if (!fast && this.#stopProgress) {
      // Say what the stop waits for, and again as sessions finish (at most once a second).
      this.#progress = new ShutdownProgress(this.#logger, () => this.sessionCount);
      this.#progress.begin();
    }
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
      await listenersClosed;
      await this.#sessions.drained();
      clearTimeout(this.#capTimer);
      this.#progress?.end();
      this.#resolveFinished();
    })();
    return this.#stopping;
  }
}

const SETTLED: Promise<void> = Promise.resolve();

/**
 * One accepted connection while it is served: its set entry and stop signal, the engine's
 * options (`logger`, `context`, `signal`) and what the server keeps of it, all in one object.
 */
class ServedSession extends SessionEntry implements SessionOptions {
  readonly conn: Deno.Conn;
  readonly socket: SocketFd | null;
  readonly route: Route;
  readonly logger: Logger;
  readonly context: LogContext;
  readonly info: SessionInfo | undefined;
  /** When it was accepted (Date.now()). */
  startedAt = 0;
  /** Its socket has TCP_NODELAY from its listener (connIO's option of that name). */
  hasNoDelay = false;

  constructor(
    conn: Deno.Conn,
    socket: SocketFd | null,
    route: Route,
    logger: Logger,
    context: LogContext,
    info: SessionInfo | undefined,
  ) {
    super();
    this.conn = conn;
    this.socket = socket;
    this.route = route;
    this.logger = logger;
    this.context = context;
    this.info = info;
  }

  /** The stop signal is the entry itself. */
  get signal(): StopSignal {
    return this;
  }
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
