/**
 * Compile functions of the main and events context directives, so that an nginx.conf
 * written for the module loads unchanged. Directives stream-echo does not act on are
 * accepted with a notice saying so.
 *
 * @module
 */

import { isAbsolute, join } from "node:path";
import { binaryToText, showToken } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import type { Directive } from "./parser.ts";
import type { Scope } from "./scope.ts";
import { timeValue } from "./settings.ts";
import {
  atMost,
  MAX_RLIMIT_NOFILE,
  MAX_WORKER_CONNECTIONS,
  MAX_WORKER_PROCESSES,
} from "./limits.ts";
import type { LogLevel } from "./types.ts";
import { parseInteger } from "./units.ts";
import { LOG_LEVELS } from "../log/logger.ts";

/** Resolves a path against the main config's folder (absolute paths stay as they are). */
export function resolvePath(scope: Scope, path: string): string {
  return isAbsolute(path) ? path : join(scope.state.source.baseDir, path);
}

/** Marks a single-value main/events directive as set; a second one is an error. */
function once(d: Directive, scope: Scope): void {
  const key = `${scope.context}:${d.name}`;
  if (scope.state.mainSet.has(key)) {
    throw new ConfigError(`"${d.name}" directive is duplicate`, d.pos);
  }
  scope.state.mainSet.add(key);
}

function positive(d: Directive, text: string, max: number): number {
  const n = parseInteger(text);
  if (n === null || n === 0) {
    throw new ConfigError(`"${d.name}" directive invalid value "${showToken(text)}"`, d.pos);
  }
  atMost(d, n, max, String(max), text);
  return n;
}

/** Builds a compile function that accepts a directive with a notice that it has no effect. */
export function ignored(
  why: string,
  check?: (d: Directive) => void,
): (d: Directive, scope: Scope) => void {
  return (d: Directive, scope: Scope): void => {
    check?.(d);
    scope.state.notices.push({
      message: `"${d.name}" directive is accepted but not acted on: ${why}`,
      pos: d.pos,
    });
  };
}

/** `on|off` check of nginx's flag slot. */
export function flag(d: Directive): void {
  const v = d.args[0].toLowerCase();
  if (v !== "on" && v !== "off") {
    throw new ConfigError(
      `invalid value "${showToken(d.args[0])}" in "${d.name}" directive, it must be "on" or "off"`,
      d.pos,
    );
  }
}

/** Positive-number check (`worker_rlimit_nofile`: at most 2^31 - 1). */
export function number(d: Directive): void {
  positive(d, d.args[0], MAX_RLIMIT_NOFILE);
}

/** `worker_processes N|auto`. */
export function compileWorkerProcesses(d: Directive, scope: Scope): void {
  once(d, scope);
  const workers = d.args[0] === "auto" ? "auto" : positive(d, d.args[0], MAX_WORKER_PROCESSES);
  scope.state.main.workerProcesses = workers;
}

/**
 * `error_log FILE|stderr [LEVEL]` (main and stream level; in a server it is checked, then
 * ignored with a notice: stream-echo keeps one error log for the whole process).
 */
export function compileErrorLog(d: Directive, scope: Scope): void {
  const [target, levelText = "error"] = d.args;
  const level = levelText.toLowerCase() as LogLevel;
  if (!LOG_LEVELS.includes(level)) {
    throw new ConfigError(`invalid log level "${showToken(levelText)}"`, d.pos);
  }
  if (scope.context === "server") {
    scope.state.notices.push({
      message: `"error_log" inside a server is ignored: stream-echo has one error log ` +
        "(set it at main or stream level)",
      pos: d.pos,
    });
    return;
  }
  if (target.startsWith("syslog:") || target.startsWith("memory:")) {
    scope.state.notices.push({
      message: `"error_log ${
        showToken(target)
      }" is not supported (only files and stderr are); line ignored`,
      pos: d.pos,
    });
    return;
  }
  if (target === "") {
    throw new ConfigError(`"error_log" directive invalid value ""`, d.pos);
  }
  const resolved = target === "stderr" ? target : resolvePath(scope, binaryToText(target));
  scope.state.main.errorLog.push({ target: resolved, level, pos: d.pos });
}

/** `pid FILE`. */
export function compilePid(d: Directive, scope: Scope): void {
  once(d, scope);
  if (d.args[0] === "") throw new ConfigError(`"pid" directive invalid value ""`, d.pos);
  scope.state.main.pid = { file: resolvePath(scope, binaryToText(d.args[0])), pos: d.pos };
}

/** `worker_shutdown_timeout TIME`. */
export function compileWorkerShutdownTimeout(d: Directive, scope: Scope): void {
  once(d, scope);
  scope.state.main.workerShutdownTimeout = timeValue(d);
}

/** `worker_connections N` (events). */
export function compileWorkerConnections(d: Directive, scope: Scope): void {
  once(d, scope);
  scope.state.main.workerConnections = positive(d, d.args[0], MAX_WORKER_CONNECTIONS);
}

/** `events { ... }`. */
export function compileEvents(d: Directive, scope: Scope): void {
  once(d, scope);
  scope.state.walk(d.block ?? [], { context: "events", state: scope.state });
}

/** A single-value flag/number directive that is accepted with a notice. */
export function ignoredOnce(
  why: string,
  check?: (d: Directive) => void,
): (d: Directive, scope: Scope) => void {
  const note = ignored(why, check);
  return (d: Directive, scope: Scope): void => {
    once(d, scope);
    note(d, scope);
  };
}
