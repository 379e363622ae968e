/**
 * Block steps: the runner over a list of steps ({@link runSteps}, reused by every block),
 * `echo_loop`, `echo_break` and `echo_match`.
 *
 * @module
 */
import type { CaptureRef, LoopStep, MatchStep, Step } from "../../config/types.ts";
import { SessionHalt } from "../halt.ts";
import type { StepContext } from "../step_context.ts";
import { BREAK, type Flow, LOOP_EOF } from "./flow.ts";
import { argBytes, bytesToBinary as latin1 } from "../../config/bytes.ts";
import { escapeBytes } from "./mismatch.ts";
import { runStep } from "./run_step.ts";

/** The largest `echo_loop $capture` count. */
export const MAX_CAPTURED_COUNT = 1_000_000;

/** Iterations between two checks that let other sessions run and queued output drain. */
const YIELD_EVERY = 1024;

const EMPTY = new Uint8Array(0);

/**
 * Runs `steps` in order (a block body, or any list of steps); resolves with {@link BREAK}
 * when an `echo_break` inside asks the innermost loop to stop. Synchronous steps are not
 * awaited, so a loop or branch costs no more per step than a linear script.
 */
export async function runSteps(ctx: StepContext, steps: readonly Step[]): Promise<Flow> {
  for (let i = 0; i < steps.length; i++) {
    const halt = ctx.halted;
    if (halt) throw halt;
    const r = runStep(ctx, steps[i]);
    if (r === undefined) continue;
    if (r === BREAK || (await r) === BREAK) return BREAK;
  }
}

/** The data of the last read step (empty before any read). */
export function lastRead(ctx: StepContext): Uint8Array {
  if (!ctx.hasReader() || ctx.lastEnd <= ctx.lastStart) return EMPTY;
  const request = ctx.reader().request();
  if (ctx.lastEnd > request.length) return EMPTY;
  return request.subarray(ctx.lastStart, ctx.lastEnd);
}

/** The value of a capture (`$1`, `$name`) of the most recent regex match, or "" if unset. */
export function captureValue(ctx: StepContext, ref: CaptureRef): string {
  const m = ctx.match;
  if (m === null) return "";
  const value = ref.name === undefined ? m[ref.index] : m.groups?.[ref.name];
  return value ?? "";
}

/** The capture named by `ref`, read as a decimal number up to `max`; null when it is not one. */
export function captureNumber(ctx: StepContext, ref: CaptureRef, max: number): number | null {
  const text = captureValue(ctx, ref);
  if (text.length === 0 || text.length > 10) return null;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    value = value * 10 + d;
  }
  return value <= max ? value : null;
}

/**
 * A capture's value as a log message shows it: client bytes, so escaped (a CR, LF or control
 * byte would otherwise forge log lines) and at most 32 of them.
 */
export function shownCapture(value: string): string {
  return escapeBytes(argBytes(value.slice(0, 33)), 32);
}

/** How a capture reference is written in messages. */
export function refText(ref: CaptureRef): string {
  return ref.name === undefined ? `$${ref.index}` : `$${ref.name}`;
}

function loopCount(ctx: StepContext, step: LoopStep): number {
  const count = step.count;
  if (count === null) return Infinity;
  if (typeof count === "number") return count;
  const n = captureNumber(ctx, count, MAX_CAPTURED_COUNT);
  if (n === null) {
    throw new SessionHalt(
      "error",
      `stream echo: "echo_loop" count ${refText(count)} is "${
        shownCapture(captureValue(ctx, count))
      }", not a number from 0 to ${MAX_CAPTURED_COUNT}`,
      "error",
    );
  }
  return n;
}

function yieldTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * `echo_loop`: runs the body N times, or until the client closes. A read meeting EOF before
 * any byte of an iteration arrived ends the loop quietly (and the enclosing loops after their
 * current iteration). Every {@link YIELD_EVERY} iterations it waits for queued output to drain
 * and lets other sessions run.
 */
export async function runLoop(ctx: StepContext, step: LoopStep): Promise<void> {
  ctx.debug("stream echo running loop");
  const n = loopCount(ctx, step);
  const body = step.body;
  const outerMark = ctx.loopMark;
  const outerEof = ctx.eofEnded;
  ctx.eofEnded = false;
  try {
    for (let i = 0; i < n; i++) {
      const mark = ctx.hasReader() ? ctx.reader().claimed : 0;
      ctx.loopMark = mark;
      try {
        // runSteps, inlined: no extra promise per iteration
        for (let j = 0; j < body.length; j++) {
          const halt = ctx.halted;
          if (halt) throw halt;
          const r = runStep(ctx, body[j]);
          if (r === undefined) continue;
          if (r === BREAK || (await r) === BREAK) return;
        }
      } catch (err) {
        if (err !== LOOP_EOF) throw err;
        ctx.debug("stream echo loop ends at client EOF");
        ctx.eofEnded = true;
        return;
      }
      if (ctx.eofEnded) return;
      if (n === Infinity && (ctx.hasReader() ? ctx.reader().claimed : 0) === mark) {
        throw new SessionHalt(
          "error",
          `stream echo: "echo_loop" (${step.pos.file}:${step.pos.line}) read nothing in one ` +
            "iteration, stopping it (it would spin)",
          "error",
        );
      }
      if (i % YIELD_EVERY === YIELD_EVERY - 1) {
        await ctx.until(ctx.output.idle ? yieldTask() : ctx.output.drained());
      }
    }
  } finally {
    ctx.loopMark = outerMark;
    ctx.eofEnded ||= outerEof;
  }
}

/** True when `a` holds the same bytes as `b`. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function startsWith(a: Uint8Array, prefix: Uint8Array): boolean {
  if (a.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (a[i] !== prefix[i]) return false;
  return true;
}

/**
 * `echo_match`: runs the first branch whose pattern matches the subject (the last read step's
 * data, or the whole reading buffer), else the default, else nothing. A regex branch sets the
 * captures.
 */
export function runMatch(ctx: StepContext, step: MatchStep): Promise<Flow> | Flow {
  const subject = step.subject === "last"
    ? lastRead(ctx)
    : (ctx.hasReader() ? ctx.reader().request() : EMPTY);
  let text: string | null = null;
  for (const branch of step.branches) {
    switch (branch.kind) {
      case "exact":
        if (equalBytes(subject, branch.bytes)) return runSteps(ctx, branch.body);
        break;
      case "prefix":
        if (startsWith(subject, branch.bytes)) return runSteps(ctx, branch.body);
        break;
      case "regex": {
        text ??= latin1(subject);
        const m = (branch.regex as RegExp).exec(text);
        if (m !== null) {
          ctx.match = m;
          return runSteps(ctx, branch.body);
        }
        break;
      }
    }
  }
  if (step.fallback !== null) return runSteps(ctx, step.fallback);
}
