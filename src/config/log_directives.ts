/**
 * Compile functions of `log_format`, `access_log` and `echo_record`, and the merge that gives
 * each server its access logs and recording file: a server's own lines, else the stream
 * level's (as nginx inherits `access_log`); `off` at a level means none there.
 *
 * @module
 */

import { binaryToText, showToken } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import { compileFormat, DEFAULT_LOG_FORMAT } from "./log_format.ts";
import { resolvePath } from "./main_directives.ts";
import type { Directive } from "./parser.ts";
import type { LogScope, Scope, ServerScope, StreamScope } from "./scope.ts";
import type { AccessLogTarget, LogEscape, LogFormat, RecordTarget } from "./types.ts";
import { MAX_TIMER_MS, parseSize, parseTime } from "./units.ts";
import { LOG_ESCAPES } from "../log/escape.ts";

function logScope(scope: Scope): LogScope {
  const block = (scope.server ?? scope.stream) as ServerScope | StreamScope;
  block.logs ??= { accessLog: [], accessLogOff: false };
  return block.logs;
}

/** `log_format NAME [escape=default|json|none] STRING...` (stream). */
export function compileLogFormat(d: Directive, scope: Scope): void {
  const stream = scope.stream as StreamScope;
  const [name, ...rest] = d.args;
  stream.logFormats ??= new Map();
  if (stream.logFormats.has(name)) {
    throw new ConfigError(`duplicate "log_format" name "${showToken(name)}"`, d.pos);
  }
  let escape: LogEscape = "default";
  if (rest[0]?.startsWith("escape=")) {
    const value = rest.shift()!.slice("escape=".length);
    if (!(LOG_ESCAPES as readonly string[]).includes(value)) {
      throw new ConfigError(`unknown log format escaping "${showToken(value)}"`, d.pos);
    }
    escape = value as LogEscape;
    // As nginx: a format needs at least one string after the escape mode too.
    if (rest.length === 0) {
      throw new ConfigError(`invalid number of arguments in "log_format" directive`, d.pos);
    }
  }
  stream.logFormats.set(name, { name, escape, parts: compileFormat(rest, d.pos) });
}

const PARAMS = ["buffer=", "flush=", "gzip", "if="];

function isParam(arg: string): boolean {
  return PARAMS.some((p) => arg === p.replace("=", "") || arg.startsWith(p));
}

/**
 * `access_log PATH [FORMAT] [buffer=SIZE] [flush=TIME] [if=CONDITION]` or `access_log off`
 * (stream, server). Several lines in one block all log.
 */
export function compileAccessLog(d: Directive, scope: Scope): void {
  const logs = logScope(scope);
  const [path, ...rest] = d.args;
  if (path === "off") {
    if (rest.length > 0) {
      throw new ConfigError(`invalid parameter "${showToken(rest[0])}"`, d.pos);
    }
    logs.accessLogOff = true;
    return;
  }
  if (path === "") throw new ConfigError(`"access_log" directive invalid value ""`, d.pos);
  if (path.startsWith("syslog:")) {
    throw new ConfigError(
      `"access_log ${showToken(path)}" is not supported (only files are)`,
      d.pos,
    );
  }
  let format: LogFormat = DEFAULT_LOG_FORMAT;
  if (rest.length > 0 && !isParam(rest[0])) {
    const name = rest.shift()!;
    const found = scope.stream?.logFormats?.get(name);
    if (found === undefined) {
      throw new ConfigError(`unknown log format "${showToken(name)}"`, d.pos);
    }
    format = found;
  }
  const target: AccessLogTarget = {
    path: resolvePath(scope, binaryToText(path)),
    format,
    pos: d.pos,
  };
  for (const param of rest) {
    if (param.startsWith("buffer=")) {
      const size = parseSize(param.slice(7));
      if (size === null || size === 0) {
        throw new ConfigError(`invalid buffer size "${showToken(param.slice(7))}"`, d.pos);
      }
      target.buffer = size;
    } else if (param.startsWith("flush=")) {
      const ms = parseTime(param.slice(6));
      if (ms === null || ms === 0 || ms > MAX_TIMER_MS) {
        throw new ConfigError(`invalid flush time "${showToken(param.slice(6))}"`, d.pos);
      }
      target.flush = ms;
    } else if (param === "gzip" || param.startsWith("gzip=")) {
      throw new ConfigError(
        `"access_log ... gzip" is not supported: stream-echo writes plain text`,
        d.pos,
      );
    } else if (param.startsWith("if=")) {
      const condition = compileFormat([param.slice(3)], d.pos);
      if (condition.length === 0) {
        throw new ConfigError(`invalid parameter "${showToken(param)}"`, d.pos);
      }
      target.condition = condition;
    } else {
      throw new ConfigError(`invalid parameter "${showToken(param)}"`, d.pos);
    }
  }
  logs.accessLog.push(target);
  scope.state.logFiles.push({ path: target.path, directive: "access_log", pos: d.pos });
}

/** `echo_record PATH | off` (stream, server): one JSON line per finished session. */
export function compileEchoRecord(d: Directive, scope: Scope): void {
  const logs = logScope(scope);
  if (logs.record !== undefined) {
    throw new ConfigError(`"echo_record" directive is duplicate`, d.pos);
  }
  const path = d.args[0];
  if (path === "") throw new ConfigError(`"echo_record" directive invalid value ""`, d.pos);
  if (path === "off") {
    logs.record = "off";
    return;
  }
  logs.record = { path: resolvePath(scope, binaryToText(path)), pos: d.pos };
  scope.state.logFiles.push({ path: logs.record.path, directive: "echo_record", pos: d.pos });
}

/** A server's access logs and recording file: its own, else the stream level's. */
export function mergeLogs(
  stream: LogScope | undefined,
  server: LogScope | undefined,
): { accessLog?: AccessLogTarget[]; record?: RecordTarget } {
  const out: { accessLog?: AccessLogTarget[]; record?: RecordTarget } = {};
  const level = server && (server.accessLogOff || server.accessLog.length > 0) ? server : stream;
  if (level && !level.accessLogOff && level.accessLog.length > 0) {
    out.accessLog = level.accessLog;
  }
  const record = server?.record ?? stream?.record;
  if (record !== undefined && record !== "off") out.record = record;
  return out;
}
