/**
 * Probability blocks, nginx's `split_clients` as a step: `echo_split { 20% { ... } 5.5% { ... }
 * * { ... } }` runs at most one branch, chosen at random by its share (the rest, with no `*`,
 * runs nothing); `echo_chance 20% { ... }` runs its body with that probability. Bodies are
 * compiled by the block machinery of src/config/block_steps.ts, so any step may appear in them.
 *
 * @module
 */

import { compileBody, stepsOf } from "./block_steps.ts";
import { ConfigError } from "./errors.ts";
import type { Directive } from "./parser.ts";
import type { Scope, ServerScope } from "./scope.ts";
import type { SplitBranch } from "./types.ts";

/** Shares are counted in hundredths of a percent: 100% is this much. */
export const SPLIT_WHOLE = 10_000;

/**
 * A percentage as `split_clients` reads one (`ngx_atofp` with two decimals, then `%`), in
 * hundredths of a percent; null when malformed, zero, or above 100%.
 */
export function parsePercent(text: string): number | null {
  const m = /^(\d{1,3})(?:\.(\d{1,2}))?%$/.exec(text);
  if (m === null) return null;
  const value = Number(m[1]) * 100 + Number((m[2] ?? "").padEnd(2, "0"));
  return value > 0 && value <= SPLIT_WHOLE ? value : null;
}

function branchBody(d: Directive, scope: Scope, start: number, end: { max: number }) {
  const server = scope.server as ServerScope;
  server.pendingRead = start;
  const body = compileBody(d, scope, "branch");
  end.max = Math.max(end.max, server.pendingRead);
  return body;
}

/** `echo_split { P% { ... } ... [* { ... }] }`. */
export function compileSplit(d: Directive, scope: Scope): void {
  const server = scope.server as ServerScope;
  const start = server.pendingRead;
  const end = { max: start };
  const branches: SplitBranch[] = [];
  let total = 0;
  let rest = false;
  for (const c of d.block ?? []) {
    if (c.block === undefined) {
      throw new ConfigError(
        `stream echo: "${c.name}" in "echo_split" needs a block "{ ... }"`,
        c.pos,
      );
    }
    if (c.args.length !== 0) {
      throw new ConfigError(
        `invalid number of arguments in "echo_split" branch "${c.name}"`,
        c.pos,
      );
    }
    if (rest) {
      throw new ConfigError(`stream echo: "${c.name}" after "*" in "echo_split"`, c.pos);
    }
    let share: number;
    if (c.name === "*") {
      rest = true;
      share = SPLIT_WHOLE - total;
    } else {
      const p = parsePercent(c.name);
      if (p === null) throw new ConfigError(`invalid percent value "${c.name}"`, c.pos);
      total += p;
      if (total > SPLIT_WHOLE) throw new ConfigError("percent total is greater than 100%", c.pos);
      share = p;
    }
    branches.push({ share, body: branchBody(c, scope, start, end), pos: c.pos });
  }
  if (branches.length === 0) {
    throw new ConfigError(`stream echo: "echo_split" has no branch`, d.pos);
  }
  server.pendingRead = end.max;
  stepsOf(scope).push({ op: "split", directive: d.name, pos: d.pos, branches });
}

/** `echo_chance P% { ... }`: the body runs with probability P. */
export function compileChance(d: Directive, scope: Scope): void {
  const share = parsePercent(d.args[0]);
  if (share === null) throw new ConfigError(`invalid percent value "${d.args[0]}"`, d.pos);
  const server = scope.server as ServerScope;
  const start = server.pendingRead;
  const end = { max: start };
  const body = branchBody(d, scope, start, end);
  server.pendingRead = end.max;
  stepsOf(scope).push({
    op: "split",
    directive: d.name,
    pos: d.pos,
    branches: [{ share, body, pos: d.pos }],
  });
}
