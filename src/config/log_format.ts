/**
 * Log format strings compiled at load: `$name` and `${name}` become variable parts, the rest
 * literal text, as nginx's `ngx_stream_log_compile_format`. An unknown variable is a load error
 * with file:line; nothing parses a format again when a line is written.
 *
 * @module
 */

import { binaryToText, showToken } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import type { LogFormat, LogFormatPart, Position } from "./types.ts";
import { LOG_VARIABLES } from "../log/variables.ts";

const KNOWN = new Set(LOG_VARIABLES);

function isNameChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x5f;
}

/**
 * Compiles the strings of a format (concatenated, as nginx does) into parts: the text between
 * variables is the config's bytes read as UTF-8 (invalid sequences become U+FFFD). Throws
 * {@linkcode ConfigError} at `pos` for `$` without a name, a `${` without `}`, or a variable
 * the access log does not know.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileFormat } from "./log_format.ts";
 * const parts = compileFormat(["$remote_addr [", "${status}]"], { file: "se.conf", line: 3 });
 * assert.deepEqual(parts, [{ variable: "remote_addr" }, " [", { variable: "status" }, "]"]);
 * ```
 */
export function compileFormat(texts: readonly string[], pos: Position): LogFormatPart[] {
  const parts: LogFormatPart[] = [];
  const text = (s: string) => {
    if (s === "") return;
    const last = parts[parts.length - 1];
    if (typeof last === "string") parts[parts.length - 1] = last + s;
    else parts.push(s);
  };
  for (const arg of texts) {
    let i = 0;
    while (i < arg.length) {
      const dollar = arg.indexOf("$", i);
      if (dollar < 0) {
        text(arg.slice(i));
        break;
      }
      text(arg.slice(i, dollar));
      i = dollar + 1;
      const bracket = arg[i] === "{";
      if (bracket) i++;
      const start = i;
      while (i < arg.length && isNameChar(arg.charCodeAt(i))) i++;
      const name = arg.slice(start, i);
      if (bracket) {
        if (arg[i] !== "}") {
          throw new ConfigError(`the closing bracket in "${name}" variable is missing`, pos);
        }
        i++;
      }
      if (name === "") throw new ConfigError(`invalid parameter "${showToken(arg)}"`, pos);
      if (!KNOWN.has(name)) throw new ConfigError(`unknown "${name}" variable`, pos);
      parts.push({ variable: name });
    }
  }
  // The config's bytes as UTF-8 text, which the log sink writes back as the same bytes.
  return parts.map((p) => typeof p === "string" ? binaryToText(p) : p);
}

/** The text of the format used when `access_log` names none (nginx's documented "basic"). */
export const DEFAULT_LOG_FORMAT_TEXT =
  "$remote_addr [$time_local] $protocol $status $bytes_sent $bytes_received $session_time";

/** The format used when `access_log` names none. */
export const DEFAULT_LOG_FORMAT: Readonly<LogFormat> = Object.freeze({
  name: "",
  escape: "default",
  parts: compileFormat([DEFAULT_LOG_FORMAT_TEXT], { file: "<default log_format>", line: 1 }),
});
