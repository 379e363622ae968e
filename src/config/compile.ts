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
import type { CompileState, ContextName, Scope, Source } from "./scope.ts";
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
    throw new ConfigError(`"${d.name}" directive is not allowed here`, d.pos, {
      hint: scope.context === "match"
        ? 'only "when" and "default" go directly in "echo_match { }"'
        : belongsIn(spec.contexts),
    });
  }
  if (!spec.block && d.block !== undefined) {
    throw new ConfigError(`directive "${d.name}" is not terminated by ";"`, d.pos);
  }
  if (spec.block && d.block === undefined) {
    throw new ConfigError(`directive "${d.name}" has no opening "{"`, d.pos);
  }
  try {
    const [min, max] = spec.args;
    if (d.args.length < min || d.args.length > max) {
      throw new ConfigError(`invalid number of arguments in "${d.name}" directive`, d.pos);
    }
    spec.compile(d, scope);
  } catch (err) {
    throw withMissingSemicolonHint(err, d, scope);
  }
  if (spec.textArgs && d.argLines !== undefined) warnMissingSemicolon(d, scope);
}

/** How a block is named in the hint of "not allowed here". */
const PLACES: Record<ContextName, string> = {
  main: "the main context (the top level)",
  events: '"events { }"',
  stream: '"stream { }"',
  server: '"server { }"',
  loop: '"echo_loop { }"',
  branch: '"when { }", "default { }"',
  match: '"echo_match { }"',
};

/**
 * The hint of nginx's `"server" directive is not allowed here`: where the directive goes,
 * e.g. `it belongs in "stream { }"`. A step's blocks (loops, branches) go without saying when
 * it belongs in a server, and `include` (anywhere) gets none.
 */
function belongsIn(contexts: readonly ContextName[]): string | undefined {
  if (contexts.includes("main") && contexts.includes("server")) return undefined;
  const shown = contexts.includes("server")
    ? contexts.filter((c) => c !== "loop" && c !== "branch" && c !== "match")
    : contexts;
  const places = shown.map((c) => PLACES[c]);
  const last = places.pop()!;
  return `it belongs in ${places.length > 0 ? `${places.join(", ")} or ${last}` : last}`;
}

/**
 * A directive name among `d`'s arguments on a later line than `d`, of a directive allowed in
 * the same block: the sign of a missing `;` at the end of `d`'s line.
 */
function swallowed(d: Directive, scope: Scope): { name: string; line: number } | undefined {
  const lines = d.argLines;
  if (lines === undefined) return undefined;
  for (let i = 0; i < d.args.length; i++) {
    if (lines[i] === d.pos.line) continue;
    // only a directive that could follow here (so "default" or "when" in text is no alarm)
    if (DIRECTIVES.get(d.args[i])?.contexts.includes(scope.context) !== true) continue;
    return { name: d.args[i], line: lines[i] };
  }
  return undefined;
}

/**
 * nginx's classic missing `;`: `echo "220 hi"` with `echo_discard_request;` on the next line
 * sends the next directive's name as text. A text directive that swallowed a directive name is
 * warned about once (the config still loads, as in nginx).
 */
function warnMissingSemicolon(d: Directive, scope: Scope): void {
  const s = swallowed(d, scope);
  if (s === undefined) return;
  scope.state.notices.push({
    level: "warn",
    message: `"${d.name}" also sends "${s.name}" from line ${s.line} as text, ` +
      'probably a missing ";"',
    pos: d.pos,
  });
}

/**
 * The error of a directive that swallowed the next line's directive (`echo_read_line` with no
 * `;`, then `echo_sleep 1;`) keeps nginx's words and says why: `invalid number of arguments in
 * "echo_read_line" directive in se.conf:4, probably a missing ";" before "echo_sleep" on line 5`.
 */
function withMissingSemicolonHint(err: unknown, d: Directive, scope: Scope): unknown {
  if (!(err instanceof ConfigError) || err.constructor !== ConfigError) return err;
  if (err.hint !== undefined || err.file !== d.pos.file || err.line !== d.pos.line) return err;
  const s = swallowed(d, scope);
  if (s === undefined) return err;
  return new ConfigError(err.reason, d.pos, {
    hint: `probably a missing ";" before "${s.name}" on line ${s.line}`,
    cause: err.cause,
  });
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
    logFiles: [],
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
  return {
    file: options.file,
    main: state.main,
    servers: state.servers,
    notices: state.notices,
    logFiles: state.logFiles,
  };
}
