/**
 * The `echo_*` family's option rules, exactly as the module's `eval_args`: while options are
 * expected, an argument of two or more characters starting with `-` is an option (its text
 * after the dash), unless its second character is also `-`: then it ends the options and is
 * dropped (`--`, and also `--anything`). A one-character argument (`-` included), any
 * argument not starting with `-`, and an empty argument end the options and are values.
 * So a negative number is an (unknown) option, as in the module.
 *
 * @module
 */

/** Options (without the dash) and values of one directive's arguments. */
export interface EchoArgs {
  /** Options without their dash, e.g. `n` for `-n`. */
  opts: string[];
  /** The value arguments, in order. */
  values: string[];
}

/**
 * Splits arguments into options and values.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { splitEchoArgs } from "./echo_args.ts";
 * const { opts, values } = splitEchoArgs(["-n", "--", "-1"]);
 * assert.ok(opts[0] === "n" && values[0] === "-1");
 * ```
 */
export function splitEchoArgs(args: readonly string[]): EchoArgs {
  // the common case, no options at all: no copying
  const first = args[0];
  if (first === undefined || first.length < 2 || first[0] !== "-") {
    return { opts: [], values: args as string[] };
  }
  const opts: string[] = [];
  const values: string[] = [];
  let expectingOpts = true;
  for (const raw of args) {
    if (expectingOpts) {
      if (raw.length > 1 && raw[0] === "-") {
        if (raw[1] === "-") {
          expectingOpts = false;
          continue;
        }
        opts.push(raw.slice(1));
        continue;
      }
      expectingOpts = false;
    }
    values.push(raw);
  }
  return { opts, values };
}
