/**
 * The CLI's error log sinks: stderr or files, at a level, chosen by `error_log` directives and
 * the `--error-log` / `--log-level` flags.
 *
 * @module
 */
import { describeError, openFailed } from "../config/os_error.ts";
import type { ErrorLogTarget, Position } from "../config/types.ts";
import type { Logger, LogLevel, LogLineFormat } from "../log/logger.ts";
import { createLogger, formatLogLine, teeLogger } from "../log/logger.ts";
import { type LogSink, openFileSink } from "../log/sink.ts";

/** The default when neither the config nor a flag names an error log. */
export const DEFAULT_ERROR_LOG = { target: "stderr", level: "info" as LogLevel };

/** Open error log sinks (each file behind a bounded asynchronous {@linkcode LogSink}). */
export interface ErrorLogs {
  /** Writes to every sink at its level. */
  logger: Logger;
  /** True when one of the sinks is stderr. */
  toStderr: boolean;
  /** Resolves once every file has written what it holds: true, false after `timeoutMs`. */
  flush(timeoutMs?: number): Promise<boolean>;
  /** Flushes (at most `timeoutMs`) and closes the files; stderr stays open. Idempotent. */
  close(timeoutMs?: number): Promise<void>;
}

/** An error log file that cannot be opened: a startup (or reload) error. */
export class ErrorLogOpenError extends Error {
  /** `pos` is the `error_log` directive; absent means the `--error-log` flag. */
  constructor(path: string, cause: unknown, pos?: Position) {
    super(
      openFailed(path, cause) +
        (pos ? ` for "error_log" in ${pos.file}:${pos.line}` : " for --error-log"),
      { cause },
    );
    this.name = "ErrorLogOpenError";
  }
}

/** Flag overrides for {@linkcode chooseTargets}. */
export interface ErrorLogOverrides {
  /** `--error-log FILE|stderr`. */
  errorLog?: string;
  /** `--log-level LEVEL`. */
  logLevel?: LogLevel;
}

/** The targets to open: the flag's, else the config's, else stderr at info; the level flag wins. */
export function chooseTargets(
  configured: readonly ErrorLogTarget[],
  overrides: ErrorLogOverrides,
): { target: string; level: LogLevel; pos?: Position }[] {
  let targets: { target: string; level: LogLevel; pos?: Position }[];
  if (overrides.errorLog !== undefined) {
    targets = [{
      target: overrides.errorLog,
      level: configured[0]?.level ?? DEFAULT_ERROR_LOG.level,
    }];
  } else if (configured.length > 0) {
    targets = configured.map((t) => ({ target: t.target, level: t.level, pos: t.pos }));
  } else {
    targets = [{ ...DEFAULT_ERROR_LOG }];
  }
  if (overrides.logLevel !== undefined) {
    targets = targets.map((t) => ({ ...t, level: overrides.logLevel! }));
  }
  return targets;
}

/**
 * Writes a whole string to a synchronous writer (a short write is continued, never lost). It
 * never throws: a failing write (disk full, closed stderr) is returned for the caller to report,
 * since logging must never end a session.
 */
export function writeAllSync(w: { writeSync(p: Uint8Array): number }, text: string): unknown {
  let bytes = new TextEncoder().encode(text);
  try {
    while (bytes.length > 0) bytes = bytes.subarray(w.writeSync(bytes));
  } catch (err) {
    return err;
  }
  return undefined;
}

/**
 * The sink of an `error_log` file: asynchronous and bounded (src/log/sink.ts), and it says so on
 * stderr, once, when the file stops taking lines (a full disk, a revoked mount), and once more
 * when it takes them again.
 */
function fileSink(path: string, stderr: (line: string) => void, maxBytes?: number): LogSink {
  const say = (level: LogLevel, message: string) =>
    stderr(formatLogLine(level, message, undefined, new Date(), Deno.pid) + "\n");
  return openFileSink(path, {
    ...(maxBytes !== undefined ? { maxBytes } : {}),
    onWriteError: (err) =>
      say(
        "alert",
        `write() to error_log "${path}" failed (${
          describeError(err)
        }): its lines are lost until it takes them again`,
      ),
    onWriteRecovered: () => say("notice", `error_log "${path}" takes lines again`),
  });
}

/** Options for {@linkcode openErrorLogs}. */
export interface OpenErrorLogsOptions {
  /** Bound of each file's buffer, in bytes. @default {DEFAULT_SINK_BYTES} (1 MiB) */
  maxBytes?: number;
  /** Line format (`--log-format`). @default {"nginx"} */
  format?: LogLineFormat;
}

/**
 * Opens the sinks. Throws {@linkcode ErrorLogOpenError} (naming the `error_log` directive, or
 * the flag) when a file cannot be opened; files opened before the failure are closed.
 * `stderr` is the process's own (already non-blocking) stderr sink, shared by every generation.
 */
export function openErrorLogs(
  targets: readonly { target: string; level: LogLevel; pos?: Position }[],
  stderr: (line: string) => void,
  options: OpenErrorLogsOptions = {},
): ErrorLogs {
  const sinks: LogSink[] = [];
  const loggers: Logger[] = [];
  let toStderr = false;
  try {
    for (const t of targets) {
      if (t.target === "stderr") {
        toStderr = true;
        loggers.push(createLogger(stderr, { level: t.level, format: options.format }));
        continue;
      }
      let sink: LogSink;
      try {
        sink = fileSink(t.target, stderr, options.maxBytes);
      } catch (err) {
        throw new ErrorLogOpenError(t.target, err, t.pos);
      }
      sinks.push(sink);
      loggers.push(
        createLogger((line) => sink.write(line), { level: t.level, format: options.format }),
      );
    }
  } catch (err) {
    for (const s of sinks) void s.close(0);
    throw err;
  }
  return {
    logger: teeLogger(loggers),
    toStderr,
    async flush(timeoutMs) {
      const done = await Promise.all(sinks.map((s) => s.flush(timeoutMs)));
      return done.every(Boolean);
    },
    async close(timeoutMs) {
      await Promise.all(sinks.map((s) => s.close(timeoutMs)));
    },
  };
}

/** A logger whose destination can be swapped (on reload) while sessions keep a reference. */
export class SwitchableLogger implements Logger {
  #current: Logger;

  /** Starts out writing to `initial`. */
  constructor(initial: Logger) {
    this.#current = initial;
  }

  /** Replace the destination. */
  set current(logger: Logger) {
    this.#current = logger;
  }

  get current(): Logger {
    return this.#current;
  }

  enabled(level: LogLevel): boolean {
    return this.#current.enabled(level);
  }

  log(...args: Parameters<Logger["log"]>): void {
    this.#current.log(...args);
  }
}
