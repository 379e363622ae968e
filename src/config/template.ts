/**
 * `-v` output templates: `$0`..`$9`, `$name` / `${name}` (named groups), `$echo_last_read`,
 * `$echo_request_data` and `$$`, parsed once at load into literal bytes and variables.
 *
 * @module
 */

import { argBytes, showToken } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import { decodeEscapes } from "./escapes.ts";
import type { Directive } from "./parser.ts";
import type { ServerScope } from "./scope.ts";
import type { CaptureRef, TemplatePart } from "./types.ts";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** The variables every `-v` string may use, besides `$0`..`$9` and named groups. */
export const BUILTIN_VARIABLES: ReadonlyMap<string, TemplatePart> = new Map<string, TemplatePart>([
  ["echo_last_read", { kind: "last_read" }],
  ["echo_request_data", { kind: "request_data" }],
]);

/**
 * Parses `text` (a `-v` string) into parts; `-e` escapes are decoded in the literal parts
 * only (an escape never makes a variable). Named-group references are recorded in `server`
 * and checked once the server is compiled ({@link checkNameRefs}).
 */
export function parseTemplate(
  text: string,
  escapes: boolean,
  d: Directive,
  server: ServerScope,
): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = "";
  const flush = () => {
    if (literal === "") return;
    const raw = escapes ? decodeEscapes(literal, d.name, d.pos) : literal;
    parts.push({ kind: "bytes", bytes: argBytes(raw) });
    literal = "";
  };
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar < 0) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === "$") {
      literal += "$";
      i = dollar + 2;
      continue;
    }
    if (next !== undefined && next >= "0" && next <= "9") {
      flush();
      parts.push({ kind: "group", index: next.charCodeAt(0) - 48 });
      i = dollar + 2;
      continue;
    }
    let name: string | undefined;
    let end: number;
    if (next === "{") {
      const close = text.indexOf("}", dollar + 2);
      name = close < 0 ? undefined : text.slice(dollar + 2, close);
      if (name === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw new ConfigError(
          `stream echo sees bad variable "${
            showToken(text.slice(dollar, close < 0 ? dollar + 2 : close + 1))
          }" in "${d.name}"`,
          d.pos,
        );
      }
      end = close + 1;
    } else {
      name = NAME.exec(text.slice(dollar + 1))?.[0];
      end = dollar + 1 + (name?.length ?? 0);
    }
    if (name === undefined) {
      // a lone "$" (before a space, a quote, the end...) is sent as written
      literal += "$";
      i = dollar + 1;
      continue;
    }
    flush();
    const builtin = BUILTIN_VARIABLES.get(name);
    if (builtin !== undefined) {
      parts.push(builtin);
    } else {
      server.nameRefs.push({ name, directive: d.name, pos: d.pos });
      parts.push({ kind: "named", name });
    }
    i = end;
  }
  flush();
  return parts;
}

/**
 * Reads `$1`, `$name` or `${name}` (a capture whose decimal value is a count or length);
 * null when `text` is not one.
 */
export function parseCaptureRef(
  text: string,
  d: Directive,
  server: ServerScope,
): CaptureRef | null {
  let m = /^\$([0-9])$/.exec(text);
  if (m) return { index: Number(m[1]) };
  m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/.exec(text);
  if (!m) return null;
  const name = m[1] ?? m[2];
  server.nameRefs.push({ name, directive: d.name, pos: d.pos });
  return { name };
}

/** Records the named groups of `source` (a regex) as variables of `server`. */
export function addGroupNames(source: string, server: ServerScope): void {
  for (const m of source.matchAll(/\(\?<([A-Za-z_$][A-Za-z0-9_$]*)>/g)) {
    server.groupNames.add(m[1]);
  }
}

/** Every `$name` a `-v` string or a length uses must be a named group of some regex. */
export function checkNameRefs(server: ServerScope): void {
  for (const ref of server.nameRefs) {
    if (server.groupNames.has(ref.name)) continue;
    throw new ConfigError(
      `stream echo sees unknown variable "$${ref.name}" in "${ref.directive}" ` +
        `(known: $0..$9, ${[...BUILTIN_VARIABLES.keys()].map((k) => "$" + k).join(", ")}` +
        `, and named groups of this server's regexes)`,
      ref.pos,
    );
  }
}
