/**
 * The open listeners of a server, each with its accept loop and the route its connections take,
 * and the execution of a reload plan (src/server/reload_plan.ts) over them: open what is new,
 * close what is gone, and on failure put everything back as it was.
 *
 * @module
 */
import { ConfigError } from "../config/errors.ts";
import type { Config, Listen, ServerConfig, TlsSettings } from "../config/types.ts";
import type { Logger } from "../log/logger.ts";
import { acceptLoop } from "./accept_loop.ts";
import { type BoundListener, openListener } from "./listeners.ts";
import { openFacts, planReload, wantedFacts } from "./reload_plan.ts";

/** Which server block a listener currently serves; swapped atomically by reload. */
export interface Route {
  /** The server block. */
  server: ServerConfig;
  /** Its index in Config.servers. */
  serverIndex: number;
}

/** One open listener, its accept loop, and the route new connections on it take. */
export interface Slot {
  /** The socket. */
  bound: BoundListener;
  /** Where its connections go (replaced by a reload). */
  route: Route;
  /** The listen line it serves now (replaced by a reload). */
  listen: Listen;
  /** Set once it is being closed on purpose. */
  stopped: boolean;
  /** Aborted with `stopped`: cuts short an accept back-off pause. */
  abort: AbortController;
  /** Its accept loop; settles once the socket is released. */
  loop: Promise<void>;
}

/** A listen directive of a config together with the server block it belongs to. */
export interface Wanted {
  /** The listen line. */
  listen: Listen;
  /** Its server block's certificate. */
  tls?: TlsSettings;
  /** Its server block. */
  route: Route;
}

/** Options for {@linkcode ListenerSet}. */
export interface ListenerSetOptions {
  /** Where warnings and accept errors go. */
  logger: Logger;
  /** Called with each accepted connection and the slot it came from. */
  onConn(conn: Deno.Conn, slot: Slot): void;
  /** True once the server is stopping: a reload then gives up and opens nothing more. */
  stopping(): boolean;
}

/**
 * The listeners of one server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ListenerSet, wantedListeners } from "./listener_set.ts";
 * import { parseConfig } from "../config/loader.ts";
 * import { quietLogger } from "../log/logger.ts";
 * const config = parseConfig("stream { server { listen 127.0.0.1:0; echo hi; } }");
 * const set = new ListenerSet({
 *   logger: quietLogger,
 *   onConn: (conn) => conn.close(),
 *   stopping: () => false,
 * });
 * await set.start(wantedListeners(config));
 * assert.equal(set.addrs[0].transport, "tcp");
 * await set.stop();
 * ```
 */
export class ListenerSet {
  #slots: Slot[] = [];
  readonly #options: ListenerSetOptions;

  /** An empty set; {@linkcode ListenerSet.start} opens the first listeners. */
  constructor(options: ListenerSetOptions) {
    this.#options = options;
  }

  /** Addresses actually bound, in config order. */
  get addrs(): Deno.Addr[] {
    return this.#slots.map((s) => s.bound.addr);
  }

  /** The open listeners. */
  get slots(): readonly Slot[] {
    return this.#slots;
  }

  /** Opens every wanted listener; on failure closes those already opened and throws. */
  async start(wanted: readonly Wanted[]): Promise<void> {
    const bound: BoundListener[] = [];
    try {
      for (const w of wanted) bound.push(await this.#open(w));
    } catch (err) {
      for (const b of bound) b.close();
      throw err;
    }
    this.#slots = wanted.map((w, i) => this.#startSlot(bound[i], w));
  }

  /**
   * Moves to `wanted`: unchanged listeners stay open (their route is updated), new ones are
   * opened, removed ones closed. Throws (leaving the old listeners serving) when a new one
   * cannot be opened, or when the server began stopping meanwhile.
   */
  async reload(wanted: readonly Wanted[]): Promise<void> {
    const slots = this.#slots;
    const plan = planReload(
      slots.map((s) => openFacts(s.listen, s.bound.addr, s.bound.tls)),
      wanted.map((w) => wantedFacts(w.listen, w.tls)),
    );
    const opened = new Map<number, BoundListener>();
    const closedEarly: Slot[] = [];
    try {
      for (const o of plan.open) {
        for (const i of o.closeFirst) {
          const s = slots[i];
          if (s.stopped) continue;
          this.#stopSlot(s);
          closedEarly.push(s);
          await s.loop; // the socket is released once the pending accept() has ended
        }
        opened.set(o.wanted, await this.#open(wanted[o.wanted]));
      }
    } catch (err) {
      for (const b of opened.values()) b.close();
      for (const s of closedEarly) await this.#reopen(s);
      throw err;
    }
    if (this.#options.stopping()) {
      // A shutdown began while sockets were being opened: drop the new ones.
      for (const b of opened.values()) b.close();
      throw new Error("the server is shutting down");
    }
    // Commit: nothing below can fail.
    const keptFor = new Map(plan.keep.map((k) => [k.wanted, slots[k.open]]));
    this.#slots = wanted.map((w, i) => {
      const slot = keptFor.get(i);
      if (!slot) return this.#startSlot(opened.get(i)!, w);
      slot.route = w.route;
      slot.listen = w.listen;
      return slot;
    });
    const removed = plan.close.map((i) => slots[i]);
    for (const s of removed) this.#stopSlot(s);
    await Promise.all(removed.map((s) => s.loop));
  }

  /** Closes every listener; resolves once their accept loops have ended. */
  async stop(): Promise<void> {
    for (const s of this.#slots) this.#stopSlot(s);
    await Promise.all(this.#slots.map((s) => s.loop));
  }

  async #reopen(slot: Slot): Promise<void> {
    await slot.loop;
    // A stop that began meanwhile wants every listener closed: reopening would leave one that
    // nothing ever stops, still accepting after the server finished.
    if (this.#options.stopping()) return;
    try {
      const w = { listen: slot.listen, route: slot.route, ...tlsOf(slot.bound.tls) };
      const bound = await this.#open(w);
      if (this.#options.stopping()) {
        bound.close();
        return;
      }
      this.#slots[this.#slots.indexOf(slot)] = this.#startSlot(bound, w);
    } catch (err) {
      this.#options.logger.log(
        "alert",
        `could not reopen listener after a failed reload: ${
          err instanceof Error ? err.message : err
        }`,
      );
    }
  }

  #open(w: Wanted): Promise<BoundListener> {
    return openListener(w.listen, { ...tlsOf(w.tls), logger: this.#options.logger });
  }

  #startSlot(bound: BoundListener, w: Wanted): Slot {
    const slot: Slot = {
      bound,
      route: w.route,
      listen: w.listen,
      stopped: false,
      abort: new AbortController(),
      loop: Promise.resolve(),
    };
    slot.loop = acceptLoop(bound.listener, (conn) => this.#options.onConn(conn, slot), {
      logger: this.#options.logger,
      stopped: () => slot.stopped,
      signal: slot.abort.signal,
    });
    return slot;
  }

  #stopSlot(slot: Slot): void {
    slot.stopped = true;
    slot.abort.abort();
    slot.bound.close();
  }
}

function tlsOf(tls: TlsSettings | undefined): { tls?: TlsSettings } {
  return tls ? { tls } : {};
}

/** Every listen directive of a config in order, checking that no address is listed twice. */
export function wantedListeners(config: Config): Wanted[] {
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
      out.push({ listen, ...tlsOf(server.tls), route });
    }
  });
  return out;
}
