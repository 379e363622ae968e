/**
 * The error log: nginx's line format, levels, and sinks. Library code never prints; it logs
 * through a {@linkcode Logger} that the caller injects.
 *
 * @module
 */
import { escapeControls } from "../config/bytes.ts";
import type { LogLevel } from "../config/types.ts";

export type { LogLevel };

/** nginx's level order: a logger at level L writes L and everything more severe. */
export const LOG_LEVELS: readonly LogLevel[] = [
  "debug",
  "info",
  "notice",
  "warn",
  "error",
  "crit",
  "alert",
  "emerg",
];

/** Who a log line is about; all fields optional. */
export interface LogContext {
  /** Connection number, printed as `*N`. */
  connection?: number;
  /** Client address, e.g. "127.0.0.1" or "unix:". */
  client?: string;
  /** Local address the client connected to, e.g. "127.0.0.1:1234". */
  server?: string;
  /** What the session was doing, e.g. "running stream echo commands". */
  action?: string;
}

/** Where library code sends its log lines. */
export interface Logger {
  /** True when a line at `level` would be written (lets callers skip building messages). */
  enabled(level: LogLevel): boolean;
  /** Write one line. */
  log(level: LogLevel, message: string, ctx?: LogContext): void;
}

/** A logger that drops everything: the library default. */
export const quietLogger: Logger = {
  enabled: () => false,
  log: () => {},
};

/** Is `level` at least as severe as `threshold`? */
export function atLeast(level: LogLevel, threshold: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/**
 * Formats one line the way nginx's error log does:
 * `2026/11/24 10:00:00 [info] 1234#0: *5 stream client read timed out while running stream
 * echo commands, client: 127.0.0.1, server: 127.0.0.1:1234`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatLogLine } from "./logger.ts";
 * const line = formatLogLine("info", "hello", { connection: 5 }, new Date(0), 42);
 * assert.ok(line.includes("[info] 42#0: *5 hello"));
 * ```
 */
export function formatLogLine(
  level: LogLevel,
  message: string,
  ctx: LogContext | undefined,
  now: Date,
  pid: number,
): string {
  const ts = `${now.getFullYear()}/${pad(now.getMonth() + 1)}/${pad(now.getDate())} ` +
    `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
  let line = `${ts} [${level}] ${pid}#0: `;
  if (ctx?.connection !== undefined) line += `*${ctx.connection} `;
  line += escapeControls(message);
  if (ctx?.action) line += ` while ${escapeControls(ctx.action)}`;
  if (ctx?.client !== undefined) line += `, client: ${escapeControls(ctx.client)}`;
  if (ctx?.server !== undefined) line += `, server: ${escapeControls(ctx.server)}`;
  return line;
}

/** The error log's line formats: nginx's text lines, or one JSON object per line. */
export type LogLineFormat = "nginx" | "json";

/**
 * Formats one line as a JSON object (`--log-format json`): `time` (ISO 8601, UTC), `level`,
 * `pid`, then `connection`, `client`, `server` and `action` when known, and `message`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatJsonLogLine } from "./logger.ts";
 * const line = formatJsonLogLine("info", "hi", { connection: 5, client: "127.0.0.1" }, new Date(0), 42);
 * assert.deepEqual(JSON.parse(line), {
 *   time: "1970-01-01T00:00:00.000Z", level: "info", pid: 42, connection: 5,
 *   client: "127.0.0.1", message: "hi",
 * });
 * ```
 */
export function formatJsonLogLine(
  level: LogLevel,
  message: string,
  ctx: LogContext | undefined,
  now: Date,
  pid: number,
): string {
  const o: Record<string, string | number> = { time: now.toISOString(), level, pid };
  if (ctx?.connection !== undefined) o.connection = ctx.connection;
  if (ctx?.client !== undefined) o.client = ctx.client;
  if (ctx?.server !== undefined) o.server = ctx.server;
  if (ctx?.action) o.action = ctx.action;
  o.message = message;
  return JSON.stringify(o);
}

/** Options for {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. @default {"info"} */
  level?: LogLevel;
  /** Process id printed in each line. @default {Deno.pid} */
  pid?: number;
  /** Clock, for tests. @default {() => new Date()} */
  now?: () => Date;
  /** Line format. @default {"nginx"} */
  format?: LogLineFormat;
}

/**
 * A logger that formats nginx-style lines and hands each (with a trailing LF) to `write`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createLogger } from "./logger.ts";
 * const lines: string[] = [];
 * const log = createLogger((l) => lines.push(l), { level: "warn" });
 * log.log("info", "skipped");
 * log.log("error", "kept");
 * assert.equal(lines.length, 1);
 * assert.ok(lines[0].includes("[error]"));
 * ```
 */
export function createLogger(write: (line: string) => void, options: LoggerOptions = {}): Logger {
  const threshold = options.level ?? "info";
  const pid = options.pid ?? Deno.pid;
  const now = options.now ?? (() => new Date());
  const format = options.format === "json" ? formatJsonLogLine : formatLogLine;
  return {
    enabled: (level) => atLeast(level, threshold),
    log(level, message, ctx) {
      if (!atLeast(level, threshold)) return;
      write(format(level, message, ctx, now(), pid) + "\n");
    },
  };
}

/**
 * A logger that never throws: a line the wrapped logger fails on (a full disk, a throwing
 * callback) is dropped instead of ending the session or the accept loop that logged it.
 *
 * @example
 * ```ts
 * import { safeLogger } from "./logger.ts";
 * const log = safeLogger({ enabled: () => true, log: () => { throw new Error("disk full"); } });
 * log.log("error", "dropped, not thrown");
 * ```
 */
export function safeLogger(logger: Logger): Logger {
  return {
    enabled(level) {
      try {
        return logger.enabled(level);
      } catch {
        return false;
      }
    },
    log(level, message, ctx) {
      try {
        logger.log(level, message, ctx);
      } catch { /* dropped: logging must never end a session */ }
    },
  };
}

/** Fans one line out to several loggers (several `error_log` directives). */
export function teeLogger(loggers: Logger[]): Logger {
  if (loggers.length === 1) return loggers[0];
  return {
    enabled: (level) => loggers.some((l) => l.enabled(level)),
    log(level, message, ctx) {
      for (const l of loggers) l.log(level, message, ctx);
    },
  };
}
