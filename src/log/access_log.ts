/**
 * Access-log lines: a compiled {@linkcode LogFormat} turned, once per format, into a function
 * from a finished session's facts to one line. Writing a line is a loop over prepared pieces:
 * no parsing, no lookups by name.
 *
 * @module
 */

import type { LogFormat, LogFormatPart } from "../config/types.ts";
import { escaper } from "./escape.ts";
import { type SessionFacts, variableGetter } from "./variables.ts";

/** Turns the facts of one finished session into a line (without the trailing LF). */
export type LineFormatter = (facts: SessionFacts) => string;

type Piece = string | ((facts: SessionFacts) => string);

function pieces(parts: readonly LogFormatPart[], escape: (v: string) => string, missing: string) {
  return parts.map((part): Piece => {
    if (typeof part === "string") return part;
    const get = variableGetter(part.variable);
    if (get === undefined) throw new Error(`unknown "${part.variable}" variable`);
    return (facts) => {
      const value = get(facts);
      return value === undefined ? missing : escape(value);
    };
  });
}

function join(list: readonly Piece[]): LineFormatter {
  if (list.length === 1 && typeof list[0] === "string") {
    const only = list[0];
    return () => only;
  }
  return (facts) => {
    let line = "";
    for (const p of list) line += typeof p === "string" ? p : p(facts);
    return line;
  };
}

const formatters = new WeakMap<LogFormat, LineFormatter>();

/**
 * The line function of `format`, built on first use and shared by every session after.
 * A variable nginx would call "not found" is `-` with the default escaping and empty with
 * `json` and `none`, as in nginx.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineFormatter } from "./access_log.ts";
 * const line = lineFormatter({
 *   name: "t",
 *   escape: "json",
 *   parts: ['{"end":"', { variable: "echo_end" }, '","in":', { variable: "bytes_received" }, "}"],
 * });
 * const facts = {
 *   connection: 1, end: "eof", bytesReceived: 4, bytesSent: 4, startedAt: 0, endedAt: 5,
 *   remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 5000 } as const,
 *   localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1234 } as const,
 * };
 * assert.deepEqual(JSON.parse(line(facts)), { end: "eof", in: 4 });
 * ```
 */
export function lineFormatter(format: LogFormat): LineFormatter {
  let f = formatters.get(format);
  if (f === undefined) {
    f = join(pieces(format.parts, escaper(format.escape), format.escape === "default" ? "-" : ""));
    formatters.set(format, f);
  }
  return f;
}

const conditions = new WeakMap<readonly LogFormatPart[], LineFormatter>();

/** `access_log ... if=CONDITION`: false when the condition evaluates to "" or "0", as nginx. */
export function conditionHolds(condition: readonly LogFormatPart[], facts: SessionFacts): boolean {
  let f = conditions.get(condition);
  if (f === undefined) {
    f = join(pieces(condition, (v) => v, ""));
    conditions.set(condition, f);
  }
  const value = f(facts);
  return value !== "" && value !== "0";
}
