/**
 * `include PATH` (any context): the file's directives are compiled in the block the
 * `include` is in. Relative paths are resolved against the main config's folder (never the
 * working directory); a PATH with `*`, `?` or `[` is a glob whose matches are included in
 * sorted order (none is fine, with a notice); a missing plain file is an error, and so is a
 * file that includes itself, directly or not.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { binaryToText, showPath, showToken } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import { expandGlob, hasGlob } from "./glob.ts";
import { resolvePath } from "./main_directives.ts";
import { type Directive, parse } from "./parser.ts";
import type { Scope } from "./scope.ts";
import { openFailed } from "./os_error.ts";
import { ConfigFileError } from "./read_file.ts";

/** How deep includes may nest (a guard far above any real config). */
export const MAX_INCLUDE_DEPTH = 64;

/** `include PATH`. */
export function compileInclude(d: Directive, scope: Scope): void {
  const { state } = scope;
  const pattern = binaryToText(d.args[0]);
  if (pattern === "") throw new ConfigError(`"include" directive invalid value ""`, d.pos);
  let files: string[];
  if (hasGlob(pattern)) {
    const base = isAbsolute(pattern) ? "" : state.source.baseDir;
    files = expandGlob(pattern, state.source.listDir, base);
    if (files.length === 0) {
      state.notices.push({
        message: `include "${showToken(d.args[0])}" matched no files`,
        pos: d.pos,
      });
    }
  } else {
    files = [resolvePath(scope, pattern)];
  }
  for (const file of files) {
    if (state.includeStack.length > MAX_INCLUDE_DEPTH) {
      throw new ConfigError(`includes are nested more than ${MAX_INCLUDE_DEPTH} deep`, d.pos);
    }
    const key = resolve(file);
    const cycle = state.includeStack.indexOf(key);
    if (cycle >= 0) {
      const chain = [...state.includeStack.slice(cycle), key].join(" -> ");
      throw new ConfigError(`include cycle: ${chain}`, d.pos);
    }
    let text: string;
    try {
      text = state.source.readFile(file);
    } catch (err) {
      if (err instanceof ConfigFileError) throw new ConfigError(err.message, d.pos, { cause: err });
      throw new ConfigError(openFailed(showPath(file), err), d.pos, { cause: err });
    }
    const tree = parse(text, file);
    state.includeStack.push(key);
    try {
      state.walk(tree, scope);
    } finally {
      state.includeStack.pop();
    }
  }
}
