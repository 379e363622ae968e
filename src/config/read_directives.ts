/**
 * Compile functions of the conversation reads: `echo_read_until`, `echo_read_literal`,
 * `echo_test_request_data`, `echo_read_regex`, `echo_read_bytes $N`, `echo_read_length`,
 * `echo_clear_request_data` and `echo_flush`.
 *
 * @module
 */

import { argBytes, showToken } from "./bytes.ts";
import { stepsOf } from "./block_steps.ts";
import { compileRegex } from "./block_steps.ts";
import { ConfigError } from "./errors.ts";
import { decodeEscapes, stringArgs } from "./escapes.ts";
import type { Directive } from "./parser.ts";
import type { Scope, ServerScope } from "./scope.ts";
import { addGroupNames, parseCaptureRef } from "./template.ts";

/** The largest `+K` / `-K` adjustment of a length. */
export const MAX_ADJUST = 2_147_483_647;

function server(scope: Scope): ServerScope {
  return scope.server as ServerScope;
}

/** The one string argument of `d`, `-e` escapes decoded when asked. */
function oneString(d: Directive): string {
  const { e, values } = stringArgs(d, "e");
  if (values.length !== 1) {
    throw new ConfigError(
      `stream echo requires one value argument in "${d.name}" but got ${values.length}`,
      d.pos,
    );
  }
  return e ? decodeEscapes(values[0], d.name, d.pos) : values[0];
}

/** Builds the KMP failure table of `pattern`: fail[i] = longest proper border of pattern[0..i]. */
export function failureTable(pattern: Uint8Array): Int32Array {
  const fail = new Int32Array(pattern.length);
  let k = 0;
  for (let i = 1; i < pattern.length; i++) {
    while (k > 0 && pattern[i] !== pattern[k]) k = fail[k - 1];
    if (pattern[i] === pattern[k]) k++;
    fail[i] = k;
  }
  return fail;
}

/** `echo_read_until [-e] DELIMITER`: append input through the first DELIMITER (kept). */
export function compileReadUntil(d: Directive, scope: Scope): void {
  const delimiter = argBytes(oneString(d));
  if (delimiter.length === 0) {
    throw new ConfigError(`stream echo: empty delimiter in "${d.name}"`, d.pos);
  }
  // it reads at least the delimiter: a delimiter the buffer cannot hold is never found
  checkRead(d, scope, delimiter.length, `the ${delimiter.length}-byte delimiter of "${d.name}"`);
  stepsOf(scope).push({
    op: "read_until",
    directive: d.name,
    pos: d.pos,
    delimiter,
    fail: failureTable(delimiter),
  });
}

function checkRead(d: Directive, scope: Scope, n: number, what: string): void {
  const srv = server(scope);
  srv.pendingRead += n;
  srv.reads.push({ n, total: srv.pendingRead, pos: d.pos, what });
}

/** `echo_read_literal [-e] STRING`: read as many bytes as STRING has and compare. */
export function compileReadLiteral(d: Directive, scope: Scope): void {
  const expected = argBytes(oneString(d));
  checkRead(d, scope, expected.length, `"${d.name}" of ${expected.length} bytes`);
  stepsOf(scope).push({ op: "read_literal", directive: d.name, pos: d.pos, expected });
}

/** `echo_test_request_data [-e] STRING`: compare the whole reading buffer with STRING. */
export function compileTestRequestData(d: Directive, scope: Scope): void {
  const expected = argBytes(oneString(d));
  stepsOf(scope).push({ op: "test_request", directive: d.name, pos: d.pos, expected });
}

/** `echo_read_regex [-e] REGEX`: read until the unread bytes match REGEX. */
export function compileReadRegex(d: Directive, scope: Scope): void {
  const source = oneString(d);
  const regex = compileRegex(source, "", d);
  addGroupNames(source, server(scope));
  stepsOf(scope).push({ op: "read_regex", directive: d.name, pos: d.pos, regex });
}

function adjustment(d: Directive, text: string | undefined): number {
  if (text === undefined) return 0;
  const m = /^([+-])([0-9]{1,10})$/.exec(text);
  const value = m ? Number(m[2]) : NaN;
  if (!m || value > MAX_ADJUST) {
    throw new ConfigError(
      `stream echo sees bad adjustment "${showToken(text)}" in "${d.name}": it must be +N or -N`,
      d.pos,
    );
  }
  return m[1] === "-" ? -value : value;
}

/**
 * `echo_read_bytes $N [+K|-K]` (the length from a decimal capture); returns false when the
 * first argument is not a capture (the caller handles `echo_read_bytes SIZE`).
 */
export function compileReadCounted(d: Directive, scope: Scope): boolean {
  const first = d.args[0];
  if (!first.startsWith("$")) return false;
  const ref = parseCaptureRef(first, d, server(scope));
  if (ref === null) {
    throw new ConfigError(`stream echo sees bad size "${showToken(first)}" in "${d.name}"`, d.pos);
  }
  const adjust = adjustment(d, d.args[1]);
  stepsOf(scope).push({ op: "read_counted", directive: d.name, pos: d.pos, ref, adjust });
  return true;
}

const WIDTHS: Record<string, { width: 1 | 2 | 4; littleEndian: boolean }> = {
  u8: { width: 1, littleEndian: false },
  u16be: { width: 2, littleEndian: false },
  u16le: { width: 2, littleEndian: true },
  u32be: { width: 4, littleEndian: false },
  u32le: { width: 4, littleEndian: true },
};

/** `echo_read_length u8|u16be|u16le|u32be|u32le [+K|-K]`. */
export function compileReadLength(d: Directive, scope: Scope): void {
  const format = WIDTHS[d.args[0]];
  if (format === undefined) {
    throw new ConfigError(
      `invalid value "${showToken(d.args[0])}" in "${d.name}" directive, it must be ` +
        `"u8", "u16be", "u16le", "u32be" or "u32le"`,
      d.pos,
    );
  }
  const adjust = adjustment(d, d.args[1]);
  stepsOf(scope).push({ op: "read_length", directive: d.name, pos: d.pos, ...format, adjust });
}

/** `echo_clear_request_data`: empty the reading buffer without sending it. */
export function compileClearRequestData(d: Directive, scope: Scope): void {
  server(scope).pendingRead = 0;
  stepsOf(scope).push({ op: "clear_request", directive: d.name, pos: d.pos });
}

/** `echo_flush`: send what `postpone_output` holds. */
export function compileFlush(d: Directive, scope: Scope): void {
  stepsOf(scope).push({ op: "flush", directive: d.name, pos: d.pos });
}
