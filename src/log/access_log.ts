/**
 * Access-log lines: a compiled {@linkcode LogFormat} turned, once per format, into a function
 * from a finished session's facts to one line. Writing a line is a loop over prepared pieces:
 * no parsing, no lookups by name.
 *
 * @module
 */

import { copyBytes, isCount, writeDigits } from "./byte_out.ts";
import type { LogEscape, LogFormat, LogFormatPart } from "../config/types.ts";
import { escaper } from "./escape.ts";
import { seconds, type SessionFacts, type VariableGetter, variableGetter } from "./variables.ts";

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

/**
 * A compiled {@linkcode LogFormat} that writes a session's line straight as UTF-8 bytes (with its
 * LF) into a caller's buffer: no string per line. The bytes are those of
 * {@linkcode lineFormatter}'s line plus `"\n"`, encoded.
 */
export interface LineEncoder {
  /** Most bytes {@linkcode LineEncoder.encodeInto} writes for `facts`. */
  bound(facts: SessionFacts): number;
  /** Writes the line and its LF into `buf` at `at` (with `bound(facts)` bytes of room). */
  encodeInto(facts: SessionFacts, buf: Uint8Array, at: number): number;
}

const encoder = new TextEncoder();
const EMPTY: Uint8Array = new Uint8Array(0);

/** The buffer an encoder writes into, and where (set by `encodeInto` for its duration). */
let out: Uint8Array = EMPTY;
let pos = 0;

/**
 * A piece of a compiled line: writes itself, and says how many bytes that may take at most (a
 * number when that does not depend on the session).
 */
interface Op {
  put(f: SessionFacts): void;
  bound: number | ((f: SessionFacts) => number);
}

function put(bytes: Uint8Array): void {
  pos = copyBytes(out, pos, bytes);
}

/** Writes `text` (already escaped) as UTF-8. */
function putUtf8(text: string): void {
  pos += encoder.encodeInto(text, out.subarray(pos)).written;
}

/**
 * Most UTF-8 bytes an escaped value of `length` UTF-16 units takes: a unit is at most 3 bytes,
 * and `\xXX` (4 characters) per byte in the default mode.
 */
function textBound(length: number): number {
  return 12 * length;
}

/**
 * Writes `value` escaped as `mode` says: ASCII that needs no escaping byte by byte as it is read;
 * anything else through the escaper and the encoder, as the string route does.
 */
function textWriter(mode: LogEscape): (value: string) => void {
  const escape = escaper(mode);
  // The highest code unit, and the codes below 0x80, that each mode writes as they are.
  const plain = (c: number) =>
    mode === "none"
      ? c < 0x80
      : mode === "json"
      ? c >= 0x20 && c < 0x80 && c !== 0x22 && c !== 0x5c
      : c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c;
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) table[c] = plain(c) ? 1 : 0;
  return (value) => {
    const o = out;
    let p = pos;
    const n = value.length;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80 || table[c] === 0) {
        putUtf8(escape(value));
        return;
      }
      o[p++] = c;
    }
    pos = p;
  };
}

/** A non-negative integer's digits; anything else as `String(n)` (then escaped). */
function countWriter(text: (value: string) => void): (n: number) => void {
  return (n) => {
    if (!isCount(n)) {
      text(String(n));
      return;
    }
    putDigits(n);
  };
}

function putDigits(n: number): void {
  pos = writeDigits(out, pos, n);
}

/** `seconds(ms)` (`1764642648.123`) as digits; an odd value (NaN, huge) as its text, escaped. */
function secondsWriter(text: (value: string) => void): (ms: number) => void {
  return (ms) => {
    const whole = Math.floor(ms / 1000);
    if (!(whole >= 0 && whole <= 0x7fffffff)) {
      text(seconds(ms));
      return;
    }
    const frac = Math.floor(ms - whole * 1000);
    putDigits(whole);
    const o = out;
    let p = pos;
    o[p++] = 46; // .
    const tens = (frac / 10) | 0;
    o[p++] = 48 + ((tens / 10) | 0);
    o[p++] = 48 + tens % 10;
    o[p++] = 48 + frac - tens * 10;
    pos = p;
  };
}

/** Room for a number's text (`String(n)` is at most 24 characters) or `seconds()`'s. */
const NUMBER_BOUND = 64;

/**
 * `$status`, `$echo_end`: values that depend on how the session ended only, kept as escaped bytes
 * per end, after `prefix` (the last one checked first: most sessions end alike).
 */
function endOp(
  get: VariableGetter,
  escape: (v: string) => string,
  missing: string,
  prefix: string,
): Op {
  const cache = new Map<string, Uint8Array>();
  let lastEnd: string | undefined;
  let lastBytes: Uint8Array = EMPTY;
  const bytesOf = (f: SessionFacts) => {
    const end = f.end;
    if (end === lastEnd) return lastBytes;
    let bytes = cache.get(end);
    if (bytes === undefined) {
      const value = get(f);
      bytes = encoder.encode(prefix + (value === undefined ? missing : escape(value)));
      if (cache.size < 64) cache.set(end, bytes);
    }
    lastEnd = end;
    lastBytes = bytes;
    return bytes;
  };
  return { put: (f) => put(bytesOf(f)), bound: (f) => bytesOf(f).length };
}

/**
 * `$time_local`, `$time_iso8601`: `prefix` and the escaped bytes of the session's end second,
 * per second.
 */
function perSecondOp(
  get: VariableGetter,
  escape: (v: string) => string,
  missing: string,
  prefix: string,
): Op {
  let second = NaN;
  let bytes: Uint8Array = EMPTY;
  const bytesOf = (f: SessionFacts) => {
    const s = Math.floor(f.endedAt / 1000);
    if (s !== second || s !== s) {
      const value = get(f);
      bytes = encoder.encode(prefix + (value === undefined ? missing : escape(value)));
      second = s;
    }
    return bytes;
  };
  return { put: (f) => put(bytesOf(f)), bound: (f) => bytesOf(f).length };
}

/** `op` after the constant bytes `prefix` (one op, not two). */
function afterPrefix(prefix: string, op: Op): Op {
  if (prefix === "") return op;
  const bytes = encoder.encode(prefix);
  const bound = op.bound;
  return {
    put: (f) => {
      put(bytes);
      op.put(f);
    },
    bound: typeof bound === "number" ? bytes.length + bound : (f) => bytes.length + bound(f),
  };
}

/** A variable whose value does not depend on the session (`$protocol`, `$pid`, `$hostname`). */
const CONSTANT_VARIABLES = new Set(["protocol", "pid", "hostname"]);

/**
 * A constant variable's escaped text, read when the format is compiled (at its first line): it
 * joins the constant text around it.
 */
function constantText(name: string, mode: LogEscape): string {
  const value = variableGetter(name)!(NO_FACTS);
  return value === undefined ? (mode === "default" ? "-" : "") : escaper(mode)(value);
}

/** What a constant variable is read from: nothing of a session. */
const NO_FACTS: SessionFacts = Object.freeze({
  connection: 0,
  remoteAddr: Object.freeze({ transport: "tcp" as const, hostname: "", port: 0 }),
  localAddr: Object.freeze({ transport: "tcp" as const, hostname: "", port: 0 }),
  end: "",
  bytesReceived: 0,
  bytesSent: 0,
  startedAt: 0,
  endedAt: 0,
});

function isIp(a: Deno.Addr): a is Deno.NetAddr {
  return a.transport === "tcp" || a.transport === "udp";
}

/**
 * The op of variable `name` and the constant text `prefix` before it: values that are cached as
 * bytes (per end, per second) are cached with the prefix.
 */
function variableOp(name: string, mode: LogEscape, prefix: string): Op {
  const get = variableGetter(name);
  if (get === undefined) throw new Error(`unknown "${name}" variable`);
  const escape = escaper(mode);
  const missing = mode === "default" ? "-" : "";
  switch (name) {
    case "time_local":
    case "time_iso8601":
      return perSecondOp(get, escape, missing, prefix);
    case "status":
    case "echo_end":
      return endOp(get, escape, missing, prefix);
  }
  return afterPrefix(prefix, valueOp(name, mode, get));
}

/** The op of a variable whose bytes are not cached: numbers, ports, times, addresses. */
function valueOp(name: string, mode: LogEscape, get: VariableGetter): Op {
  const missing = mode === "default" ? "-" : "";
  const text = textWriter(mode);
  const count = countWriter(text);
  const secs = secondsWriter(text);
  const number = (n: (f: SessionFacts) => number): Op => ({
    put: (f) => count(n(f)),
    bound: NUMBER_BOUND,
  });
  const port = (a: (f: SessionFacts) => Deno.Addr): Op => ({
    put: (f) => {
      const addr = a(f);
      if (isIp(addr)) count(addr.port);
    },
    bound: NUMBER_BOUND,
  });
  switch (name) {
    case "bytes_sent":
      return number((f) => f.bytesSent);
    case "bytes_received":
      return number((f) => f.bytesReceived);
    case "connection":
      return number((f) => f.connection);
    case "remote_port":
      return port((f) => f.remoteAddr);
    case "server_port":
      return port((f) => f.localAddr);
    case "session_time":
      return {
        put: (f) => secs(Math.max(0, f.endedAt - f.startedAt)),
        bound: NUMBER_BOUND,
      };
    case "msec":
      return { put: (f) => secs(f.endedAt), bound: NUMBER_BOUND };
  }
  // Any other (`$remote_addr`, `$server_addr`): its text, ASCII written as it is read.
  const missingBytes = encoder.encode(missing);
  return {
    put: (f) => {
      const value = get(f);
      if (value === undefined) put(missingBytes);
      else text(value);
    },
    bound: (f) => {
      const value = get(f);
      return value === undefined ? missingBytes.length : textBound(value.length);
    },
  };
}

/**
 * The ops of `format`: one per variable that depends on the session, each with the constant text
 * before it (constant variables included; cached with the value's bytes where those are cached),
 * then the text after the last one and the LF.
 */
function compileEncoder(format: LogFormat): LineEncoder {
  const ops: Op[] = [];
  let text = "";
  for (const part of format.parts) {
    if (typeof part === "string") text += part;
    else if (CONSTANT_VARIABLES.has(part.variable)) {
      text += constantText(part.variable, format.escape);
    } else {
      ops.push(variableOp(part.variable, format.escape, text));
      text = "";
    }
  }
  const tail = encoder.encode(text + "\n");
  let fixed = tail.length;
  const dynamic: ((f: SessionFacts) => number)[] = [];
  for (const op of ops) {
    if (typeof op.bound === "number") fixed += op.bound;
    else dynamic.push(op.bound);
  }
  return {
    bound(f) {
      let n = fixed;
      for (let i = 0; i < dynamic.length; i++) n += dynamic[i](f);
      return n;
    },
    encodeInto(f, buf, at) {
      out = buf;
      pos = at;
      try {
        for (let i = 0; i < ops.length; i++) ops[i].put(f);
        put(tail);
        return pos;
      } finally {
        out = EMPTY; // keep no reference to the caller's buffer
      }
    },
  };
}

const encoders = new WeakMap<LogFormat, LineEncoder>();

/**
 * The byte encoder of `format`, compiled on first use and shared by every session after: the
 * bytes of {@linkcode lineFormatter}'s line and an LF, written into a buffer with no string per
 * line (constant text, `$protocol`, `$pid` and `$hostname` read once and copied as bytes with
 * the value after them, numbers written as digits, times cached per second and `$status` per end
 * as bytes, ASCII values written as they are read; other values escaped as the string route
 * escapes them).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { lineEncoder } from "./access_log.ts";
 * const encode = lineEncoder({
 *   name: "t",
 *   escape: "default",
 *   parts: [{ variable: "remote_addr" }, " ", { variable: "bytes_received" }],
 * });
 * const facts = {
 *   connection: 1, end: "eof", bytesReceived: 4, bytesSent: 4, startedAt: 0, endedAt: 5,
 *   remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 5000 } as const,
 *   localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1234 } as const,
 * };
 * const buf = new Uint8Array(encode.bound(facts));
 * const end = encode.encodeInto(facts, buf, 0);
 * assert.equal(new TextDecoder().decode(buf.subarray(0, end)), "127.0.0.1 4\n");
 * ```
 */
export function lineEncoder(format: LogFormat): LineEncoder {
  let e = encoders.get(format);
  if (e === undefined) {
    e = compileEncoder(format);
    encoders.set(format, e);
  }
  return e;
}
