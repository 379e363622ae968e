/**
 * The reload decision, as a pure function: given the listeners that are open and the ones the
 * new config wants, which to keep, which to open (and which old ones must close first), and
 * which to close. No sockets, no I/O: src/server/listener_set.ts carries the plan out.
 *
 * @module
 */
import type { Listen, TlsSettings } from "../config/types.ts";
import { listenerKey } from "./listeners.ts";

/** What the decision needs to know about an open listener. */
export interface OpenFacts {
  /** {@linkcode listenerKey} of the listen line it was opened for. */
  key: string;
  /** The same key with the written port replaced by the port actually bound (port 0 resolved). */
  boundKey: string;
  /** The port it bound (TCP), or its path (Unix). */
  port?: number;
  /** Unix socket path. */
  path?: string;
  /** The certificate it serves (TLS only). */
  tls?: Pick<TlsSettings, "cert" | "key">;
}

/** What the decision needs to know about a wanted listener (one `listen` line of the config). */
export interface WantedFacts {
  /** {@linkcode listenerKey} of the listen line. */
  key: string;
  /** The written TCP port (0: any). */
  port?: number;
  /** Unix socket path. */
  path?: string;
  /** The certificate it must serve (TLS only). */
  tls?: Pick<TlsSettings, "cert" | "key">;
}

/** The outcome: indices into the `open` and `wanted` arrays given to {@linkcode planReload}. */
export interface ReloadPlan {
  /** Wanted listeners served by an open socket that stays open. */
  keep: { wanted: number; open: number }[];
  /**
   * Wanted listeners that need a new socket, in the order to open them. `closeFirst` lists open
   * listeners (all in `close`) that hold the same port or path: they must be closed before this
   * one can be bound (a changed certificate, `127.0.0.1:80` becoming `*:80`).
   */
  open: { wanted: number; closeFirst: number[] }[];
  /** Open listeners no wanted listener keeps. */
  close: number[];
}

/** The facts of an open listener opened for `listen`, bound to `addr`, serving `tls`. */
export function openFacts(listen: Listen, addr: Deno.Addr, tls?: TlsSettings): OpenFacts {
  if (listen.kind === "unix") {
    return { key: listenerKey(listen), boundKey: listenerKey(listen), path: listen.path };
  }
  const port = addr.transport === "tcp" ? addr.port : -1;
  return {
    key: listenerKey(listen),
    boundKey: listenerKey({ ...listen, port }),
    port,
    ...(tls ? { tls } : {}),
  };
}

/** The facts of a wanted `listen` line whose server block serves `tls`. */
export function wantedFacts(listen: Listen, tls?: TlsSettings): WantedFacts {
  const key = listenerKey(listen);
  const t = listen.ssl && tls ? { tls } : {};
  return listen.kind === "unix"
    ? { key, path: listen.path, ...t }
    : { key, port: listen.port, ...t };
}

/**
 * Decides a reload. An open listener is kept for a wanted one when their listen lines have the
 * same key (several `listen 127.0.0.1:0` lines share a key and are matched up in order), or
 * else when the wanted key equals the open one's bound key (`listen 127.0.0.1:0` reloaded as
 * `listen 127.0.0.1:40123` keeps the socket that got port 40123); in both cases the
 * certificate must be the same. Every other wanted listener is opened, every other open one
 * closed; a new one that needs the port or path of a closing one is opened after it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { planReload } from "./reload_plan.ts";
 * const open = [{ key: "a", boundKey: "a", port: 1 }, { key: "b", boundKey: "b", port: 2 }];
 * const plan = planReload(open, [{ key: "b", port: 2 }, { key: "c", port: 3 }]);
 * assert.deepEqual(plan, {
 *   keep: [{ wanted: 0, open: 1 }],
 *   open: [{ wanted: 1, closeFirst: [] }],
 *   close: [0],
 * });
 * ```
 */
export function planReload(
  open: readonly OpenFacts[],
  wanted: readonly WantedFacts[],
): ReloadPlan {
  const taken = new Set<number>();
  const pick = (key: (o: OpenFacts) => string, w: WantedFacts): number =>
    open.findIndex((o, i) => !taken.has(i) && key(o) === w.key && sameTls(o.tls, w.tls));
  const keep: ReloadPlan["keep"] = [];
  const toOpen: number[] = [];
  wanted.forEach((w, wi) => {
    let oi = pick((o) => o.key, w);
    if (oi < 0) oi = pick((o) => o.boundKey, w);
    if (oi >= 0) {
      taken.add(oi);
      keep.push({ wanted: wi, open: oi });
    } else {
      toOpen.push(wi);
    }
  });
  const close = open.map((_, i) => i).filter((i) => !taken.has(i));
  const withClashes = toOpen.map((wi) => ({
    wanted: wi,
    closeFirst: close.filter((oi) => clashes(open[oi], wanted[wi])),
  }));
  // Listeners that clash with nothing are opened first: if one of them fails, no old listener
  // has been closed yet.
  return {
    keep,
    open: [
      ...withClashes.filter((o) => o.closeFirst.length === 0),
      ...withClashes.filter((o) => o.closeFirst.length > 0),
    ],
    close,
  };
}

/** Do two listeners serve the same certificate and key (or are both without TLS)? */
function sameTls(a: WantedFacts["tls"], b: WantedFacts["tls"]): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.cert === b.cert && a.key === b.key;
}

/** Could this open listener and this wanted one not be bound at once (same port or path)? */
function clashes(o: OpenFacts, w: WantedFacts): boolean {
  if (o.path !== undefined || w.path !== undefined) return o.path === w.path;
  return w.port !== 0 && w.port !== undefined && o.port === w.port;
}
