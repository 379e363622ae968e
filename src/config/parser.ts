/**
 * The parser: tokens become a tree of directives, each with its file and line. It knows no
 * directive names; checking them against the table is the compiler's job. The parser is
 * iterative, so deeply nested blocks cannot overflow the stack.
 *
 * @module
 */

import { showToken } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import { Lexer } from "./lexer.ts";
import type { Position } from "./types.ts";

/** One directive: `name arg...;` or `name arg... { children }`. */
export interface Directive {
  /** The first word. */
  name: string;
  /** The other words, after escapes. */
  args: string[];
  /** The children when the directive ended with `{ ... }`; absent when it ended with `;`. */
  block?: Directive[];
  /** Where the directive's name is. */
  pos: Position;
  /**
   * The line of each argument, only when some argument is on a later line than the name
   * (absent for the usual one-line directive).
   */
  argLines?: number[];
}

/**
 * Parses config text into a list of top-level directives.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parse } from "./parser.ts";
 * const [stream] = parse("stream { server { listen 1234; } }", "se.conf");
 * assert.ok(stream.block?.[0].name === "server");
 * ```
 */
export function parse(text: string, file = "<config>"): Directive[] {
  const lexer = new Lexer(text, file);
  const root: Directive[] = [];
  const stack: Directive[][] = [];
  /** The blocks open now, innermost last (for "the block opened in" at end of file). */
  const opened: Directive[] = [];
  let current = root;
  let name: string | null = null;
  let args: string[] = [];
  let argLines: number[] | undefined;
  let firstLine = 0;
  const at = (line: number): Position => ({ file, line });

  for (;;) {
    const type = lexer.scan();
    switch (type) {
      case "word":
        if (name === null) {
          name = lexer.value;
          firstLine = lexer.tokenLine;
        } else {
          args.push(lexer.value);
          const line = lexer.tokenLine;
          if (argLines !== undefined) {
            argLines.push(line);
          } else if (line !== firstLine) {
            argLines = new Array<number>(args.length - 1).fill(firstLine);
            argLines.push(line);
          }
        }
        break;
      case ";":
        if (name === null) throw new ConfigError('unexpected ";"', at(lexer.tokenLine));
        current.push(directive(name, args, at(firstLine), argLines));
        name = null;
        args = [];
        argLines = undefined;
        break;
      case "{": {
        if (name === null) throw new ConfigError('unexpected "{"', at(lexer.tokenLine));
        const block: Directive[] = [];
        const d = directive(name, args, at(firstLine), argLines);
        d.block = block;
        current.push(d);
        opened.push(d);
        stack.push(current);
        current = block;
        name = null;
        args = [];
        argLines = undefined;
        break;
      }
      case "}": {
        const parent = stack.pop();
        if (name !== null || parent === undefined) {
          throw new ConfigError('unexpected "}"', at(lexer.tokenLine));
        }
        current = parent;
        opened.pop();
        break;
      }
      case "eof":
        if (name !== null) {
          throw new ConfigError(
            'unexpected end of file, expecting ";" or "}"',
            at(lexer.tokenLine),
            { hint: `the "${showToken(name)}" directive started in ${file}:${firstLine}` },
          );
        }
        if (opened.length > 0) {
          const open = opened[opened.length - 1];
          throw new ConfigError('unexpected end of file, expecting "}"', at(lexer.tokenLine), {
            hint: `the "${showToken(open.name)}" block opened in ${file}:${open.pos.line}`,
          });
        }
        return root;
    }
  }
}

function directive(
  name: string,
  args: string[],
  pos: Position,
  argLines: number[] | undefined,
): Directive {
  return argLines === undefined ? { name, args, pos } : { name, args, pos, argLines };
}
