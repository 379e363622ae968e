/**
 * Conversation reads: `echo_read_until`, `echo_read_literal`, `echo_test_request_data`,
 * `echo_read_regex`, `echo_read_bytes $N`, `echo_read_length` and `echo_clear_request_data`.
 * Each records its own data as "the last read" (`echo_match`, `$echo_last_read`).
 *
 * @module
 */
import type {
  ReadCountedStep,
  ReadLengthStep,
  ReadLiteralStep,
  ReadRegexStep,
  ReadUntilStep,
  TestRequestStep,
} from "../../config/types.ts";
import type { ByteReader } from "../byte_reader.ts";
import { SessionHalt } from "../halt.ts";
import type { StepContext } from "../step_context.ts";
import { captureNumber, captureValue, equalBytes, refText, shownCapture } from "./block_steps.ts";
import { eofBetweenRequests, LOOP_EOF } from "./flow.ts";
import { bytesToBinary as latin1 } from "../../config/bytes.ts";
import { mismatch } from "./mismatch.ts";
import { notAfterDiscard, premature, TOO_SMALL } from "./read_steps.ts";

/** The largest length `echo_read_bytes $N` takes from a capture. */
export const MAX_CAPTURED_LENGTH = 2_147_483_647;

const EMPTY = new Uint8Array(0);

function tooSmall(): SessionHalt {
  return new SessionHalt("error", TOO_SMALL, "error");
}

/** Marks the bytes from `start` to the request's end as the last read. */
function record(ctx: StepContext, reader: ByteReader, start: number): void {
  ctx.lastStart = start;
  ctx.lastEnd = reader.requestLength;
}

/** Reads a step's first bytes for `directive`: the reader, after the discard check. */
function readerFor(ctx: StepContext, directive: string): ByteReader {
  ctx.debug(`stream echo running ${directive} (busy: ${ctx.output.idle ? 0 : 1})`);
  if (ctx.discarding) throw notAfterDiscard(directive);
  return ctx.reader();
}

/**
 * Claims exactly `n` more bytes into the request. EOF first: a quiet loop end between
 * requests, else a premature close; a length that cannot fit: "too small" at once.
 */
async function claimExactly(ctx: StepContext, reader: ByteReader, n: number): Promise<void> {
  if (n <= 0) return;
  if (reader.requestLength + n > reader.capacity) throw tooSmall();
  let rest = n;
  for (;;) {
    rest -= reader.claimBytes(rest);
    if (rest === 0) return;
    if (reader.eof) {
      if (eofBetweenRequests(ctx, reader)) throw LOOP_EOF;
      throw premature(ctx);
    }
    await ctx.fill();
  }
}

/**
 * `echo_read_until`: appends through the first occurrence of the delimiter (kept). The search
 * keeps its partial-match state (KMP) between segments, so each byte is looked at once
 * however the delimiter is split. EOF first: the data is what arrived (like
 * `echo_read_line`); not found within the buffer: "too small".
 */
export async function runReadUntil(ctx: StepContext, step: ReadUntilStep): Promise<void> {
  const reader = readerFor(ctx, "echo_read_until");
  const start = reader.requestLength;
  const delim = step.delimiter;
  const fail = step.fail;
  const first = delim[0];
  const last = delim.length;
  let k = 0; // bytes of the delimiter matched so far
  for (;;) {
    const view = reader.unreadView();
    let i = 0;
    while (i < view.length) {
      if (k === 0) {
        const at = view.indexOf(first, i);
        if (at < 0) {
          i = view.length;
          break;
        }
        i = at + 1;
        k = 1;
      } else {
        const b = view[i];
        while (k > 0 && b !== delim[k]) k = fail[k - 1];
        if (b === delim[k]) k++;
        i++;
      }
      if (k === last) break;
    }
    reader.claimBytes(i);
    if (k === last) {
      record(ctx, reader, start);
      return;
    }
    if (reader.eof) {
      if (eofBetweenRequests(ctx, reader)) throw LOOP_EOF;
      record(ctx, reader, start);
      return;
    }
    if (reader.full) throw tooSmall();
    await ctx.fill();
  }
}

/** `echo_read_literal`: reads as many bytes as the string has, then compares. */
export async function runReadLiteral(ctx: StepContext, step: ReadLiteralStep): Promise<void> {
  const reader = readerFor(ctx, "echo_read_literal");
  const start = reader.requestLength;
  await claimExactly(ctx, reader, step.expected.length);
  record(ctx, reader, start);
  const got = reader.request().subarray(start);
  if (!equalBytes(got, step.expected)) mismatch(ctx, step.expected, got);
}

/** `echo_test_request_data`: compares the whole reading buffer with the string. */
export function runTestRequest(ctx: StepContext, step: TestRequestStep): void {
  ctx.debug("stream echo running test-request-data");
  const got = ctx.hasReader() ? ctx.reader().request() : EMPTY;
  if (!equalBytes(got, step.expected)) mismatch(ctx, step.expected, got);
}

/**
 * `echo_read_regex`: reads until the bytes not yet taken by a read step (as latin1) match; the
 * data is everything through the match's end, the rest stays buffered. Sets the captures.
 * EOF first: a quiet loop end between requests, else a premature close.
 */
export async function runReadRegex(ctx: StepContext, step: ReadRegexStep): Promise<void> {
  const reader = readerFor(ctx, "echo_read_regex");
  const start = reader.requestLength;
  let text = latin1(reader.unreadView());
  for (;;) {
    const m = step.regex.exec(text);
    if (m !== null) {
      reader.claimBytes(m.index + m[0].length);
      ctx.match = m;
      record(ctx, reader, start);
      return;
    }
    if (reader.eof) {
      if (eofBetweenRequests(ctx, reader)) throw LOOP_EOF;
      throw premature(ctx);
    }
    if (reader.full) throw tooSmall();
    await ctx.fill();
    // only the new bytes are converted; the regex runs over all unread bytes again
    text += latin1(reader.unreadView().subarray(text.length));
  }
}

function badLength(step: { directive: string }, why: string): SessionHalt {
  return new SessionHalt(
    "error",
    `stream echo: bad length in "${step.directive}": ${why}`,
    "error",
  );
}

function adjusted(n: number, adjust: number): string {
  return adjust === 0 ? `${n}` : `${n} ${adjust < 0 ? "-" : "+"} ${Math.abs(adjust)}`;
}

/** `echo_read_bytes $N [+-K]`: reads (capture + K) more bytes. */
export async function runReadCounted(ctx: StepContext, step: ReadCountedStep): Promise<void> {
  const reader = readerFor(ctx, "echo_read_bytes");
  const n = captureNumber(ctx, step.ref, MAX_CAPTURED_LENGTH);
  if (n === null) {
    const value = shownCapture(captureValue(ctx, step.ref));
    throw badLength(step, `${refText(step.ref)} is "${value}", not a decimal number`);
  }
  const total = n + step.adjust;
  if (total < 0) throw badLength(step, `${adjusted(n, step.adjust)} is negative`);
  const start = reader.requestLength;
  await claimExactly(ctx, reader, total);
  record(ctx, reader, start);
}

/** `echo_read_length`: reads a 1, 2 or 4-byte integer, then (value + K) more bytes. */
export async function runReadLength(ctx: StepContext, step: ReadLengthStep): Promise<void> {
  const reader = readerFor(ctx, "echo_read_length");
  const start = reader.requestLength;
  await claimExactly(ctx, reader, step.width);
  const b = reader.request().subarray(start);
  let n: number;
  if (step.width === 1) n = b[0];
  else if (step.width === 2) n = step.littleEndian ? b[0] | (b[1] << 8) : (b[0] << 8) | b[1];
  else if (step.littleEndian) n = (b[0] | (b[1] << 8) | (b[2] << 16)) + b[3] * 0x1000000;
  else n = b[0] * 0x1000000 + ((b[1] << 16) | (b[2] << 8) | b[3]);
  const total = n + step.adjust;
  if (total < 0) throw badLength(step, `${adjusted(n, step.adjust)} is negative`);
  await claimExactly(ctx, reader, total);
  record(ctx, reader, start);
}

/** `echo_clear_request_data`: empties the reading buffer without sending it. */
export function runClearRequest(ctx: StepContext): void {
  ctx.debug("stream echo running clear-request-data");
  ctx.lastStart = ctx.lastEnd = 0;
  if (ctx.hasReader()) ctx.reader().consumeRequest();
}
