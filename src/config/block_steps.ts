/**
 * Block steps: `echo_loop`, `echo_break`, `echo_match` with its `when` / `default` branches.
 * Their bodies are compiled by the same table-driven compiler as `server {}` (any step may
 * appear in them), through {@link compileBody}, which other block directives reuse.
 *
 * @module
 */

import { argBytes, showToken } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import { decodeEscapes, stringArgs } from "./escapes.ts";
import type { Directive } from "./parser.ts";
import type { ContextName, MatchScope, Scope, ServerScope } from "./scope.ts";
import { addGroupNames, parseCaptureRef } from "./template.ts";
import type { MatchKind, Step } from "./types.ts";
import { parseCount } from "./units.ts";

/** How deeply step blocks (`echo_loop`, `when`, `default`) may nest. */
export const MAX_BLOCK_DEPTH = 16;

/** The largest literal `echo_loop N`. */
export const MAX_LOOP_COUNT = 2_147_483_647;

/** Contexts where step directives are allowed: `server {}` and every step block body. */
export const STEP_CONTEXTS: readonly ContextName[] = ["server", "loop", "branch"];

/** The list step directives in `scope` append to (a block body, or the server's steps). */
export function stepsOf(scope: Scope): Step[] {
  // the generic context check guarantees a server scope for step directives
  return scope.steps ?? (scope.server as ServerScope).steps;
}

/** Options of {@link compileBody}. */
export interface BodyOptions {
  /** True when the body is a loop's (`echo_break` allowed inside). @default {scope.inLoop} */
  loop?: boolean;
}

/**
 * Compiles `d`'s block as a list of steps in a child scope of context `context`, one level
 * deeper than `scope` (at most {@link MAX_BLOCK_DEPTH}). Exported for other block directives.
 */
export function compileBody(
  d: Directive,
  scope: Scope,
  context: ContextName,
  options: BodyOptions = {},
): Step[] {
  const depth = (scope.depth ?? 0) + 1;
  if (depth > MAX_BLOCK_DEPTH) {
    throw new ConfigError(
      `stream echo: "${d.name}" is nested too deeply (at most ${MAX_BLOCK_DEPTH} levels of blocks)`,
      d.pos,
    );
  }
  const steps: Step[] = [];
  scope.state.walk(d.block ?? [], {
    context,
    state: scope.state,
    stream: scope.stream,
    server: scope.server,
    steps,
    depth,
    inLoop: options.loop ?? scope.inLoop ?? false,
  });
  return steps;
}

/**
 * True when every path through `steps` reads input (or, when `breakEnds`, leaves the loop
 * with `echo_break`) before it ends: an unbounded loop over such a body waits for the client
 * on every iteration instead of spinning.
 */
export function readsOnEveryPath(steps: readonly Step[], breakEnds: boolean): boolean {
  for (const step of steps) {
    switch (step.op) {
      case "read_bytes":
        if (step.n > 0) return true;
        break;
      case "read_literal":
        if (step.expected.length > 0) return true;
        break;
      case "read_line":
      case "read_until":
      case "read_regex":
      case "read_counted":
      case "read_length":
        return true;
      case "break":
        return breakEnds;
      case "loop":
        if (
          typeof step.count === "number" && step.count > 0 && readsOnEveryPath(step.body, false)
        ) {
          return true;
        }
        break;
      case "split": {
        // Every draw runs a branch (shares make 100%), and every branch reads.
        const whole = step.branches.reduce((n, b) => n + b.share, 0) === 10_000;
        if (whole && step.branches.every((b) => readsOnEveryPath(b.body, breakEnds))) return true;
        break;
      }
      case "match":
        if (
          step.fallback !== null && readsOnEveryPath(step.fallback, breakEnds) &&
          step.branches.every((b) => readsOnEveryPath(b.body, breakEnds))
        ) {
          return true;
        }
        break;
      default:
        break;
    }
  }
  return false;
}

/** `echo_loop [N|$capture] { ... }`: forever (until the client closes), N times, or $capture. */
export function compileLoop(d: Directive, scope: Scope): void {
  const server = scope.server as ServerScope;
  let count: number | ReturnType<typeof parseCaptureRef> = null;
  const arg = d.args[0];
  if (arg !== undefined) {
    count = arg.startsWith("$") ? parseCaptureRef(arg, d, server) : parseCount(arg);
    if (count === null || (typeof count === "number" && count > MAX_LOOP_COUNT)) {
      throw new ConfigError(
        `stream echo: bad count "${
          showToken(arg)
        }" in "echo_loop": a number up to ${MAX_LOOP_COUNT}, ` +
          `or a capture such as "$1"`,
        d.pos,
      );
    }
  }
  const entry = server.pendingRead;
  const body = compileBody(d, scope, "loop", { loop: true });
  server.pendingRead = Math.max(entry, server.pendingRead);
  if (count === null && !readsOnEveryPath(body, true)) {
    throw new ConfigError(
      `stream echo: "echo_loop" without a count must read on every path of its body ` +
        `(or leave it with "echo_break"), or it would spin`,
      d.pos,
    );
  }
  stepsOf(scope).push({ op: "loop", directive: d.name, pos: d.pos, count, body });
}

/** `echo_break`: leaves the innermost loop; only inside an `echo_loop` body. */
export function compileBreak(d: Directive, scope: Scope): void {
  if (!scope.inLoop) {
    throw new ConfigError(`stream echo: "echo_break" outside of "echo_loop"`, d.pos);
  }
  stepsOf(scope).push({ op: "break", directive: d.name, pos: d.pos });
}

/** `echo_match [last|buffer] { when ... { } default { } }`. */
export function compileMatch(d: Directive, scope: Scope): void {
  const server = scope.server as ServerScope;
  const arg = d.args[0] ?? "last";
  if (arg !== "last" && arg !== "buffer") {
    throw new ConfigError(
      `invalid value "${showToken(arg)}" in "echo_match" directive, it must be "last" or "buffer"`,
      d.pos,
    );
  }
  const match: MatchScope = {
    branches: [],
    fallback: null,
    pendingAtStart: server.pendingRead,
    pendingAtEnd: server.pendingRead,
  };
  scope.state.walk(d.block ?? [], { ...scope, context: "match", match, steps: undefined });
  server.pendingRead = match.pendingAtEnd;
  stepsOf(scope).push({
    op: "match",
    directive: d.name,
    pos: d.pos,
    subject: arg,
    branches: match.branches,
    fallback: match.fallback,
  });
}

const MODIFIERS: Record<string, MatchKind | "iregex"> = {
  "=": "exact",
  "^~": "prefix",
  "~": "regex",
  "~*": "iregex",
};

function branchBody(d: Directive, scope: Scope): Step[] {
  const server = scope.server as ServerScope;
  const match = scope.match as MatchScope;
  server.pendingRead = match.pendingAtStart;
  const body = compileBody(d, scope, "branch");
  match.pendingAtEnd = Math.max(match.pendingAtEnd, server.pendingRead);
  return body;
}

/** `when [-e] [= | ^~ | ~ | ~*] PATTERN { ... }` inside `echo_match`. */
export function compileWhen(d: Directive, scope: Scope): void {
  const match = scope.match as MatchScope;
  if (match.fallback !== null) {
    throw new ConfigError(`stream echo: "when" after "default" in "echo_match"`, d.pos);
  }
  const { e, values } = stringArgs(d, "e");
  if (values.length < 1 || values.length > 2) {
    throw new ConfigError(`invalid number of arguments in "when" directive`, d.pos);
  }
  const modifier = values.length === 2 ? values[0] : "^~";
  const kind = MODIFIERS[modifier];
  if (kind === undefined) {
    throw new ConfigError(
      `stream echo: invalid "when" modifier "${
        showToken(modifier)
      }": it must be "=", "^~", "~" or "~*"`,
      d.pos,
    );
  }
  const raw = values[values.length - 1];
  const pattern = e ? decodeEscapes(raw, d.name, d.pos) : raw;
  let regex: RegExp | null = null;
  if (kind === "regex" || kind === "iregex") {
    regex = compileRegex(pattern, kind === "iregex" ? "i" : "", d);
    addGroupNames(pattern, scope.server as ServerScope);
  }
  const body = branchBody(d, scope);
  match.branches.push({
    kind: kind === "iregex" ? "regex" : kind,
    bytes: regex ? new Uint8Array(0) : argBytes(pattern),
    regex,
    body,
    pos: d.pos,
  });
}

/** `default { ... }` inside `echo_match`: runs when no `when` matched; at most one, last. */
export function compileDefault(d: Directive, scope: Scope): void {
  const match = scope.match as MatchScope;
  if (match.fallback !== null) {
    throw new ConfigError(`"default" directive is duplicate`, d.pos);
  }
  match.fallback = branchBody(d, scope);
}

/**
 * Compiles a regex once at load (JavaScript syntax; matched against latin1 strings, one char
 * per byte); a bad one is an error naming the directive.
 */
export function compileRegex(source: string, flags: string, d: Directive): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError(
      `stream echo sees bad regex "${showToken(source)}" in "${d.name}": ${why}`,
      d.pos,
    );
  }
}
