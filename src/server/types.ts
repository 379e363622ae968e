/**
 * The server's contract, shared by the CLI and the library.
 *
 * @module
 */
import type { Config, ServerConfig } from "../config/types.ts";
import type { Logger } from "../log/logger.ts";
import type { SessionIO, SessionResult } from "../engine/types.ts";

/** Facts about one accepted connection, handed to observers. */
export interface SessionInfo {
  /** Connection number (1, 2, ... per server process), as in log lines `*N`. */
  id: number;
  /** Client address. */
  remoteAddr: Deno.Addr;
  /** Listener address the client connected to. */
  localAddr: Deno.Addr;
  /** Index of the server block (in Config.servers) that serves it. */
  serverIndex: number;
  /** That server block, from the config the session was accepted under (reload-safe). */
  server: ServerConfig;
}

/**
 * Hooks around each session. `wrap` may put stages in front of the IO (the library's transcript
 * recorder does); `ended` is told the result. Both are optional and cost nothing when absent.
 */
export interface SessionObserver {
  wrap?(io: SessionIO, info: SessionInfo): SessionIO;
  /** `startedAt` (the accept) and `endedAt` are times in ms since the epoch (`Date.now()`). */
  ended?(info: SessionInfo, result: SessionResult, startedAt: number, endedAt: number): void;
}

/** Options for starting a server. */
export interface ServerOptions {
  /** Where the server logs. @default {quietLogger} */
  logger?: Logger;
  /** Aborting it is a fast shutdown (like `close()`). */
  signal?: AbortSignal;
  /** Called once all listeners are bound, with the addresses actually bound (port 0 resolved). */
  onListen?: (addrs: Deno.Addr[]) => void;
  /** Per-session hooks. */
  observer?: SessionObserver;
  /**
   * Connection numbers (`*N` in log lines): `first`, then every `step`th; or a function giving
   * the next number (worker threads take theirs from one shared counter, so that numbers stay
   * unique across workers and restarts: src/lifecycle/connection_ids.ts).
   * @default {{ first: 1, step: 1 }}
   */
  connectionIds?: { first: number; step: number } | (() => number);
  /** Log a graceful stop's progress (a worker group reports one total instead). @default {true} */
  stopProgress?: boolean;
}

/**
 * A running server, shaped like `Deno.serve`'s handle. `await using` (`[Symbol.asyncDispose]`)
 * closes it fast, like `close()`, as the library's `StreamEchoServer` does: leaving a scope never
 * waits for a session in `echo_sleep` or a lingering close. Call `shutdown()` to let them finish.
 */
export interface ServerHandle extends AsyncDisposable {
  /** Addresses actually bound, in config order (servers, then their listen lines). */
  readonly addrs: Deno.Addr[];
  /** Resolves when the server has stopped and every session has ended. */
  readonly finished: Promise<void>;
  /** Graceful: stop accepting, let sessions finish (capped by worker_shutdown_timeout). */
  shutdown(): Promise<void>;
  /** Fast: stop accepting and close every session now. */
  close(): Promise<void>;
  /** Swap in a new config: keep unchanged listeners, open new ones, close removed ones. */
  reload(config: Config): Promise<void>;
}

/** What {@linkcode ServerHandle} offers inside the program: session counts for the workers. */
export interface RunningServer extends ServerHandle {
  /** Sessions in flight now. */
  readonly sessionCount: number;
  /** Connections accepted so far (refused ones not counted). */
  readonly accepted: number;
  /** Called after each session has ended. */
  onSessionEnded: (() => void) | undefined;
}
