/**
 * Compile functions of the step directives (`echo`, `echo_duplicate`, `echo_sleep`,
 * `echo_read_bytes`, and the argument-less ones), with the module's own messages, each
 * given the directive's file and line. Steps are plain data with their bytes ready: the
 * arguments' bytes exactly as written in the config (see `bytes.ts`).
 *
 * @module
 */

import { stepsOf } from "./block_steps.ts";
import { splitEchoArgs } from "./echo_args.ts";
import { argBytes, argBytesInto, showToken } from "./bytes.ts";
import { decodeEscapes, stringArgs } from "./escapes.ts";
import { ConfigError } from "./errors.ts";
import { sleepRange } from "./fault_steps.ts";
import type { Directive } from "./parser.ts";
import { compileReadCounted } from "./read_directives.ts";
import type { CompileState, Scope, ServerScope } from "./scope.ts";
import type { TemplatePart } from "./types.ts";
import { parseTemplate } from "./template.ts";
import { MAX_DUPLICATE_BYTES } from "./limits.ts";
import { MAX_TIMER_MS, parseCount, parseDelay, parseSize } from "./units.ts";

const SLAB_BYTES = 64 * 1024;
const SMALL_TEXT = 1024;

/**
 * The bytes of a token text (a binary string, one character per byte). Short texts go into
 * shared 64 KiB slabs (one ArrayBuffer for many steps instead of one each: compiling 10,000
 * servers allocates far less); long texts get their own bytes.
 */
function encode(state: CompileState, text: string): Uint8Array {
  if (text.length > SMALL_TEXT) return argBytes(text);
  if (state.slab === undefined || state.slab.length - state.slabUsed < text.length) {
    state.slab = new Uint8Array(SLAB_BYTES);
    state.slabUsed = 0;
  }
  const start = state.slabUsed;
  const end = argBytesInto(text, state.slab, start);
  state.slabUsed = end;
  return state.slab.subarray(start, end);
}

/** Repetitions of an `echo_duplicate` unit are grouped into chunks of at least this many bytes. */
export const DUPLICATE_CHUNK_BYTES = 64 * 1024;

function server(scope: Scope): ServerScope {
  // the generic context check guarantees a server scope for step directives
  return scope.server as ServerScope;
}

function values(
  d: Directive,
  allowN: boolean,
  extended = false,
): { values: string[]; newline: boolean } {
  const { opts, values } = splitEchoArgs(d.args);
  let newline = true;
  for (const opt of opts) {
    if (allowN && opt === "n") {
      newline = false;
      continue;
    }
    // -e / -v: compiled by the caller's extended path
    if (extended && (opt === "e" || opt === "v")) continue;
    throw new ConfigError(
      `stream echo sees unknown option "-${showToken(opt)}" in "${d.name}"`,
      d.pos,
    );
  }
  return { values, newline };
}

function requireCount(d: Directive, got: number, want: 1 | 2): void {
  if (got === want) return;
  const words = want === 1 ? "one value argument" : "two value arguments";
  throw new ConfigError(`stream echo requires ${words} in "${d.name}" but got ${got}`, d.pos);
}

/** The bytes of a template without variables (joined), or null when it has one. */
function literalOnly(parts: readonly TemplatePart[]): Uint8Array | null {
  let size = 0;
  for (const part of parts) {
    if (part.kind !== "bytes") return null;
    size += part.bytes.length;
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const part of parts) {
    if (part.kind !== "bytes") continue;
    out.set(part.bytes, off);
    off += part.bytes.length;
  }
  return out;
}

const SPACE = Uint8Array.of(0x20);
const NEWLINE = Uint8Array.of(0x0a);

/** `echo -e` / `echo -v`: escapes decoded, variables filled in at run time. */
function compileEchoExtended(d: Directive, scope: Scope): boolean {
  const { e, v, n, values } = stringArgs(d, "nev");
  if (!e && !v) return false;
  if (v) {
    // each argument on its own (an escape never spans two), joined by spaces
    const parts: TemplatePart[] = [];
    values.forEach((value, i) => {
      if (i > 0) parts.push({ kind: "bytes", bytes: SPACE });
      parts.push(...parseTemplate(value, e, d, server(scope)));
    });
    if (!n) parts.push({ kind: "bytes", bytes: NEWLINE });
    const fixed = literalOnly(parts);
    if (fixed !== null) {
      // no variable after all: a plain echo, built once
      stepsOf(scope).push({ op: "echo", directive: d.name, pos: d.pos, data: fixed });
      return true;
    }
    stepsOf(scope).push({ op: "echo_template", directive: d.name, pos: d.pos, parts });
  } else {
    const text = values.map((value) => decodeEscapes(value, d.name, d.pos)).join(" ");
    const data = argBytes(text + (n ? "" : "\n"));
    stepsOf(scope).push({ op: "echo", directive: d.name, pos: d.pos, data });
  }
  return true;
}

/** `echo [-n] [-e] [-v] [--] STRING...`: the arguments joined by spaces, plus LF unless `-n`. */
export function compileEcho(d: Directive, scope: Scope): void {
  const { values: args, newline } = values(d, true, true);
  if (args !== d.args && compileEchoExtended(d, scope)) return;
  const text = args.join(" ") + (newline ? "\n" : "");
  stepsOf(scope).push({
    op: "echo",
    directive: d.name,
    pos: d.pos,
    data: argBytes(text),
  });
}

function duplicateChunk(state: CompileState, text: string, unit: Uint8Array, count: number) {
  if (unit.length === 0 || count === 0) return new Uint8Array(0);
  const reps = Math.min(count, Math.ceil(DUPLICATE_CHUNK_BYTES / unit.length));
  if (reps === 1) return unit;
  const key = `${reps}:${text}`;
  const cached = state.chunkCache.get(key);
  if (cached !== undefined) return cached;
  const chunk = new Uint8Array(unit.length * reps);
  chunk.set(unit, 0);
  // double the filled part until the chunk is full
  for (let filled = unit.length; filled < chunk.length; filled *= 2) {
    chunk.copyWithin(filled, 0, Math.min(filled, chunk.length - filled));
  }
  state.chunkCache.set(key, chunk);
  return chunk;
}

/** `echo_duplicate [-e] [-v] [--] COUNT STRING`: COUNT copies of STRING, no newline. */
export function compileDuplicate(d: Directive, scope: Scope): void {
  const { e, v, values: args } = stringArgs(d, "ev");
  requireCount(d, args.length, 2);
  const count = parseCount(args[0]);
  if (count === null) {
    throw new ConfigError(
      `stream echo: bad "n" argument, "${showToken(args[0])}", in "${d.name}"`,
      d.pos,
    );
  }
  const parts = v ? parseTemplate(args[1], e, d, server(scope)) : null;
  const fixed = parts === null ? null : literalOnly(parts);
  if (parts !== null && fixed === null) {
    // the unit's length is known only per session: bound the count for one byte per copy
    checkDuplicateBytes(d, args[0], count, 1);
    stepsOf(scope).push({ op: "duplicate_template", directive: d.name, pos: d.pos, count, parts });
    return;
  }
  const unit = fixed ??
    (e ? argBytes(decodeEscapes(args[1], d.name, d.pos)) : encode(scope.state, args[1]));
  checkDuplicateBytes(d, args[0], count, unit.length);
  const chunk = duplicateChunk(scope.state, args[1], unit, count);
  stepsOf(scope).push({ op: "duplicate", directive: d.name, pos: d.pos, unit, count, chunk });
}

/** COUNT x the unit's length must stay within {@link MAX_DUPLICATE_BYTES}. */
function checkDuplicateBytes(
  d: Directive,
  countText: string,
  count: number,
  unitLength: number,
): void {
  if (count * unitLength <= MAX_DUPLICATE_BYTES) return;
  throw new ConfigError(
    `stream echo: bad "n" argument, "${showToken(countText)}", in "${d.name}": ` +
      `${count} x ${unitLength} bytes is more than ${MAX_DUPLICATE_BYTES} bytes (1 TiB)`,
    d.pos,
  );
}

/**
 * `echo_sleep [--] SECONDS`: a timer, seconds with up to three decimals; or `MIN..MAX`, a
 * random delay in that range.
 */
export function compileSleep(d: Directive, scope: Scope): void {
  const { values: args } = values(d, false);
  requireCount(d, args.length, 1);
  const range = sleepRange(d, args[0]);
  if (range) {
    stepsOf(scope).push({
      op: "sleep",
      directive: d.name,
      pos: d.pos,
      ms: range.min,
      maxMs: range.max,
    });
    return;
  }
  const delay = parseDelay(args[0]);
  if (delay === null) {
    throw new ConfigError(
      `stream echo: bad "delay" argument, "${showToken(args[0])}", in "${d.name}"`,
      d.pos,
    );
  }
  if (delay.ms > MAX_TIMER_MS) {
    throw new ConfigError(
      `stream echo: bad "delay" argument, "${showToken(args[0])}", in "${d.name}": ` +
        "must be less than 597 hours (2147483.647 seconds at most)",
      d.pos,
    );
  }
  if (delay.truncated) {
    scope.state.notices.push({
      message: `"echo_sleep ${showToken(args[0])}" keeps three decimals: sleeping ${
        delay.ms / 1000
      } s`,
      pos: d.pos,
    });
  }
  stepsOf(scope).push({ op: "sleep", directive: d.name, pos: d.pos, ms: delay.ms });
}

/** `echo_read_bytes [--] SIZE`: read exactly SIZE more bytes into the reading buffer. */
export function compileReadBytes(d: Directive, scope: Scope): void {
  if (compileReadCounted(d, scope)) return;
  if (d.args.length > 1) {
    // only `echo_read_bytes $N [+-K]` takes two
    throw new ConfigError(`invalid number of arguments in "${d.name}" directive`, d.pos);
  }
  const { values: args } = values(d, false);
  requireCount(d, args.length, 1);
  const n = parseSize(args[0]);
  if (n === null) {
    throw new ConfigError(
      `stream echo sees bad size "${showToken(args[0])}" in "${d.name}"`,
      d.pos,
    );
  }
  const srv = server(scope);
  srv.pendingRead += n;
  srv.reads.push({ n, total: srv.pendingRead, pos: d.pos });
  stepsOf(scope).push({ op: "read_bytes", directive: d.name, pos: d.pos, n });
}

/** `echo_read_line`: read through the next LF into the reading buffer. */
export function compileReadLine(d: Directive, scope: Scope): void {
  stepsOf(scope).push({ op: "read_line", directive: d.name, pos: d.pos });
}

/** `echo_flush_wait`: wait until queued output reached the socket. */
export function compileFlushWait(d: Directive, scope: Scope): void {
  stepsOf(scope).push({ op: "flush_wait", directive: d.name, pos: d.pos });
}

/** `echo_request_data`: send the reading buffer and empty it. */
export function compileRequestData(d: Directive, scope: Scope): void {
  const srv = server(scope);
  srv.pendingRead = 0;
  stepsOf(scope).push({ op: "request_data", directive: d.name, pos: d.pos });
}

/** `echo_discard_request`: drop buffered and all future input. */
export function compileDiscardRequest(d: Directive, scope: Scope): void {
  const srv = server(scope);
  srv.pendingRead = 0;
  stepsOf(scope).push({ op: "discard_request", directive: d.name, pos: d.pos });
}
