/**
 * Reading steps: `echo_read_bytes`, `echo_read_line` and `echo_request_data`, over the
 * session's reading buffer.
 *
 * @module
 */
import type { ReadBytesStep, ReadLineStep } from "../../config/types.ts";
import { SessionHalt } from "../halt.ts";
import type { ByteReader } from "../byte_reader.ts";
import type { StepContext } from "../step_context.ts";
import { eofBetweenRequests, LOOP_EOF } from "./flow.ts";

/** The module's message when a read step needs more room than the reading buffer has. */
export const TOO_SMALL = "stream echo: echo_buffer_size is too small for the request";

/** The client closed before a read step got its bytes. */
export function premature(ctx: StepContext): SessionHalt {
  return ctx.clientError("reset", "stream client prematurely closed connection");
}

/** The module's error for a read step after `echo_discard_request`. */
export function notAfterDiscard(directive: string): SessionHalt {
  return new SessionHalt(
    "error",
    `stream echo: ${directive} not allowed after echo_discard_request`,
    "crit",
  );
}

/**
 * `echo_read_bytes N`: appends exactly N more bytes to the request. EOF first is a premature
 * close; a full buffer first is "too small".
 */
export async function runReadBytes(ctx: StepContext, step: ReadBytesStep): Promise<void> {
  ctx.debug(`stream echo running read-bytes (busy: ${ctx.output.idle ? 0 : 1})`);
  if (ctx.discarding) throw notAfterDiscard("echo_read_bytes");
  const reader = ctx.reader();
  const start = reader.requestLength;
  ctx.lastStart = ctx.lastEnd = start;
  if (step.n <= 0) return;
  let rest = step.n;
  for (;;) {
    rest -= reader.claimBytes(rest);
    ctx.lastEnd = reader.requestLength;
    if (rest === 0) return;
    if (reader.eof) {
      if (eofBetweenRequests(ctx, reader)) throw LOOP_EOF;
      throw premature(ctx);
    }
    if (reader.full) throw new SessionHalt("error", TOO_SMALL, "error");
    await ctx.fill();
  }
}

/**
 * `echo_read_line`: appends through the next LF (kept, with any CR before it). EOF ends the
 * line too; a line that does not fit the buffer is "too small".
 */
export function runReadLine(ctx: StepContext, _step: ReadLineStep): Promise<void> | undefined {
  ctx.debug(`stream echo running read-line (busy: ${ctx.output.idle ? 0 : 1})`);
  if (ctx.discarding) throw notAfterDiscard("echo_read_line");
  const reader = ctx.reader();
  ctx.lastStart = reader.requestLength;
  // Synchronous while the line is already buffered (pipelined requests need no async frame).
  return lineDone(ctx, reader) ? undefined : readLineMore(ctx, reader);
}

/** The rest of `echo_read_line` once the buffer holds no complete line: read until it does. */
async function readLineMore(ctx: StepContext, reader: ByteReader): Promise<void> {
  do await ctx.fill(); while (!lineDone(ctx, reader));
}

/** Claims through the next LF: true when the step is done, false when it needs another read. */
function lineDone(ctx: StepContext, reader: ByteReader): boolean {
  const done = reader.claimLine();
  ctx.lastEnd = reader.requestLength;
  if (done) return true;
  if (reader.eof) {
    if (eofBetweenRequests(ctx, reader)) throw LOOP_EOF;
    return true;
  }
  if (reader.full) throw new SessionHalt("error", TOO_SMALL, "error");
  return false;
}

/**
 * `echo_request_data`: sends the request, waits until it is flushed, then clears it (unread,
 * pipelined bytes stay for the next read step). Sends nothing when nothing was read or when
 * discarding.
 */
export async function runRequestData(ctx: StepContext): Promise<void> {
  ctx.debug(`stream echo running echo-request (busy: ${ctx.output.idle ? 0 : 1})`);
  if (ctx.discarding || !ctx.hasReader()) return;
  const reader = ctx.reader();
  if (reader.requestLength === 0) return;
  // A copy: stages in front of the socket may keep chunks after the write resolves.
  ctx.output.push(reader.request().slice());
  await ctx.until(ctx.output.drained());
  reader.consumeRequest();
  ctx.lastStart = ctx.lastEnd = 0;
}
