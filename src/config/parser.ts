/**
 * The parser: tokens become a tree of directives, each with its file and line. It knows no
 * directive names; checking them against the table is the compiler's job. The parser is
 * iterative, so deeply nested blocks cannot overflow the stack.
 *
 * @module
 */

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
  let current = root;
  let name: string | null = null;
  let args: string[] = [];
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
        }
        break;
      case ";":
        if (name === null) throw new ConfigError('unexpected ";"', at(lexer.tokenLine));
        current.push({ name, args, pos: at(firstLine) });
        name = null;
        args = [];
        break;
      case "{": {
        if (name === null) throw new ConfigError('unexpected "{"', at(lexer.tokenLine));
        const block: Directive[] = [];
        current.push({ name, args, block, pos: at(firstLine) });
        stack.push(current);
        current = block;
        name = null;
        args = [];
        break;
      }
      case "}": {
        const parent = stack.pop();
        if (name !== null || parent === undefined) {
          throw new ConfigError('unexpected "}"', at(lexer.tokenLine));
        }
        current = parent;
        break;
      }
      case "eof":
        if (name !== null) {
          throw new ConfigError(
            'unexpected end of file, expecting ";" or "}"',
            at(lexer.tokenLine),
          );
        }
        if (stack.length > 0) {
          throw new ConfigError('unexpected end of file, expecting "}"', at(lexer.tokenLine));
        }
        return root;
    }
  }
}
