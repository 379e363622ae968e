/**
 * The compiler: checks every directive of the tree against the table once, generically
 * (known name, allowed context, `;` or `{`, argument count, in nginx's words and order), then
 * calls its compile function. The result is plain data: nothing at run time looks at config
 * text again.
 *
 * @module
 */

import { DIRECTIVES } from "./directives.ts";
import { showToken } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import { closest } from "./suggest.ts";
import type { Directive } from "./parser.ts";
import type { CompileState, Scope, Source } from "./scope.ts";
import type { Config } from "./types.ts";

/** Checks one directive against its table entry and compiles it. */
function compileDirective(d: Directive, scope: Scope): void {
  const spec = DIRECTIVES.get(d.name);
  if (spec === undefined) {
    const near = closest(d.name, DIRECTIVES.keys());
    throw new ConfigError(
      `unknown directive "${showToken(d.name)}"`,
      d.pos,
      near === undefined ? undefined : { hint: `did you mean "${near}"?` },
    );
  }
  if (!spec.contexts.includes(scope.context)) {
    throw new ConfigError(`"${d.name}" directive is not allowed here`, d.pos);
  }
  if (!spec.block && d.block !== undefined) {
    throw new ConfigError(`directive "${d.name}" is not terminated by ";"`, d.pos);
  }
  if (spec.block && d.block === undefined) {
    throw new ConfigError(`directive "${d.name}" has no opening "{"`, d.pos);
  }
  const [min, max] = spec.args;
  if (d.args.length < min || d.args.length > max) {
    throw new ConfigError(`invalid number of arguments in "${d.name}" directive`, d.pos);
  }
  spec.compile(d, scope);
  if (spec.textArgs && d.argLines !== undefined) warnMissingSemicolon(d, scope);
}

/**
 * nginx's classic missing `;`: `echo "220 hi"` with `echo_discard_request;` on the next line
 * sends the next directive's name as text. A name among the arguments of a text directive,
 * on a later line than the directive, of a directive allowed in the same block, is warned
 * about once (the config still loads, as in nginx).
 */
function warnMissingSemicolon(d: Directive, scope: Scope): void {
  const lines = d.argLines!;
  for (let i = 0; i < d.args.length; i++) {
    if (lines[i] === d.pos.line) continue;
    // only a directive that could follow here (so "default" or "when" in text is no alarm)
    if (DIRECTIVES.get(d.args[i])?.contexts.includes(scope.context) !== true) continue;
    scope.state.notices.push({
      level: "warn",
      message: `"${d.name}" also sends "${d.args[i]}" from line ${lines[i]} as text, ` +
        'probably a missing ";"',
      pos: d.pos,
    });
    return;
  }
}

function walk(directives: Directive[], scope: Scope): void {
  for (const d of directives) compileDirective(d, scope);
}

/** What {@link compile} needs besides the tree. */
export interface CompileOptions {
  /** The main config file's name, for {@link Config.file} and include cycle checks. */
  file: string;
  /** Absolute form of `file` (the bottom of the include stack). */
  fileKey: string;
  /** Where included files and certificates come from. */
  source: Source;
}

/**
 * Compiles a parsed main config into a {@link Config}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compile } from "./compile.ts";
 * import { parse } from "./parser.ts";
 * const tree = parse("stream { server { listen 0; echo hi; } }", "se.conf");
 * const source = { baseDir: ".", readFile: () => "", listDir: () => [] };
 * const config = compile(tree, { file: "se.conf", fileKey: "/se.conf", source });
 * assert.ok(config.servers[0].steps[0].op === "echo");
 * ```
 */
export function compile(tree: Directive[], options: CompileOptions): Config {
  const state: CompileState = {
    main: { workerProcesses: 1, errorLog: [], workerConnections: 512 },
    servers: [],
    notices: [],
    source: options.source,
    mainSet: new Set(),
    includeStack: [options.fileKey],
    listenKeys: new Map(),
    fileCache: new Map(),
    chunkCache: new Map(),
    slabUsed: 0,
    walk,
  };
  walk(tree, { context: "main", state });
  return { file: options.file, main: state.main, servers: state.servers, notices: state.notices };
}
