/**
 * The tokenizer: nginx's `ngx_conf_read_token` rules as a small state machine of our own.
 *
 * - space, tab, CR and LF separate words; `;` ends a directive, `{` opens a block, `}` closes one;
 * - `#` starts a comment only at the start of a word (`a#b` is one word);
 * - `"` and `'` open a quoted word only at the start of a word; it may span lines, and the
 *   closing quote must be followed by whitespace, `;` or `{` (else `unexpected "x"`);
 * - a backslash protects the next character from ending the word; in the word's value
 *   `\"` `\'` `\\` lose the backslash, `\t` `\r` `\n` become control characters and any
 *   other `\x` stays as written (quoted or not);
 * - `${` inside a word does not open a block (nor at the start of a word: a deliberate
 *   difference from nginx, which would split `${x}` into `$` and a block).
 *
 * @module
 */

import { showToken } from "./bytes.ts";
import { ConfigError } from "./errors.ts";

/** The kind of a token. */
export type TokenType = "word" | ";" | "{" | "}" | "eof";

/** One token with the line it starts on. */
export interface Token {
  /** What the token is. */
  type: TokenType;
  /** The word's value after escapes (empty for punctuation and eof). */
  value: string;
  /** 1-based line the token starts on (for eof: the last line of the file). */
  line: number;
  /** True when the word was written in quotes. */
  quoted: boolean;
}

const LF = 10;
const CR = 13;
const TAB = 9;
const SPACE = 32;
const HASH = 35;
const DQUOTE = 34;
const SQUOTE = 39;
const BACKSLASH = 92;
const SEMI = 59;
const LBRACE = 123;
const RBRACE = 125;
const DOLLAR = 36;

/** Characters that neither end a bare word nor need a closer look. */
const PLAIN = /[^ \t\r\n;{\\$]*/y;
/** Runs of blanks other than newlines. */
const BLANKS = /[ \t\r]*/y;
/** What matters inside a quoted word. */
const DQUOTE_STOPS = /["\\\n]/g;
const SQUOTE_STOPS = /['\\\n]/g;

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === CR || c === LF;
}

/** Applies nginx's escape rules to the raw text of a word. */
export function unescape(raw: string): string {
  if (raw.indexOf("\\") < 0) return raw;
  let out = "";
  let i = 0;
  const n = raw.length;
  while (i < n) {
    const c = raw.charCodeAt(i);
    if (c !== BACKSLASH || i + 1 >= n) {
      out += raw[i];
      i++;
      continue;
    }
    const next = raw[i + 1];
    switch (next) {
      case '"':
      case "'":
      case "\\":
        out += next;
        i += 2;
        break;
      case "t":
        out += "\t";
        i += 2;
        break;
      case "r":
        out += "\r";
        i += 2;
        break;
      case "n":
        out += "\n";
        i += 2;
        break;
      default:
        out += "\\";
        i++;
    }
  }
  return out;
}

/**
 * Pulls tokens from config text one at a time; throws {@link ConfigError} for an unclosed
 * quote or a quote followed by something other than whitespace, `;` or `{`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Lexer } from "./lexer.ts";
 * const lexer = new Lexer("echo hi;", "se.conf");
 * assert.ok(lexer.next().value === "echo");
 * ```
 */
export class Lexer {
  #text: string;
  #file: string;
  #pos = 0;
  #line = 1;

  /**
   * Starts at the beginning of `text`.
   *
   * @param text the config text
   * @param file the name used in error positions
   */
  constructor(text: string, file: string) {
    this.#text = text;
    this.#file = file;
  }

  /** The line the lexer is on now (where the last token ended). */
  get line(): number {
    return this.#line;
  }

  /** The next token; after the end of the text, an "eof" token (again and again). */
  next(): Token {
    const type = this.scan();
    return { type, value: this.#value, line: this.#tokenLine, quoted: this.#quoted };
  }

  /** The last scanned word's value (after escapes); empty for punctuation and eof. */
  get value(): string {
    return this.#value;
  }

  /** The line the last scanned token starts on. */
  get tokenLine(): number {
    return this.#tokenLine;
  }

  /**
   * Scans the next token without allocating one: returns its type and leaves its value and
   * line in {@link Lexer.value} and {@link Lexer.tokenLine} (what the parser uses).
   */
  scan(): TokenType {
    const text = this.#text;
    const n = text.length;
    let i = this.#pos;
    for (;;) {
      if (i >= n) {
        this.#pos = i;
        return this.#token("eof", "", this.#line, false);
      }
      const c = text.charCodeAt(i);
      if (c === LF) {
        this.#line++;
        i++;
        continue;
      }
      if (c === SPACE || c === TAB || c === CR) {
        BLANKS.lastIndex = i;
        BLANKS.test(text);
        i = BLANKS.lastIndex;
        continue;
      }
      if (c === HASH) {
        const end = text.indexOf("\n", i);
        i = end < 0 ? n : end;
        continue;
      }
      if (c === SEMI || c === LBRACE || c === RBRACE) {
        this.#pos = i + 1;
        return this.#token(c === SEMI ? ";" : c === LBRACE ? "{" : "}", "", this.#line, false);
      }
      if (c === DQUOTE || c === SQUOTE) return this.#quotedWord(i, c);
      return this.#bareWord(i);
    }
  }

  #quotedWord(open: number, quote: number): TokenType {
    const text = this.#text;
    const n = text.length;
    const line = this.#line;
    const stops = quote === DQUOTE ? DQUOTE_STOPS : SQUOTE_STOPS;
    let i = open + 1;
    let escaped = false;
    for (;;) {
      // jump to the next character that matters: the quote, a backslash or a newline
      stops.lastIndex = i;
      i = stops.test(text) ? stops.lastIndex - 1 : n;
      if (i >= n) {
        this.#pos = n;
        throw new ConfigError('unexpected end of file, expecting ";" or "}"', this.#at(), {
          hint: `the quote opened in ${this.#file}:${line}`,
        });
      }
      const c = text.charCodeAt(i);
      if (c === LF) this.#line++;
      if (c === BACKSLASH) {
        escaped = true;
        if (text.charCodeAt(i + 1) === LF) this.#line++;
        i += 2;
        continue;
      }
      if (c === quote) break;
      i++;
    }
    const raw = text.slice(open + 1, i);
    i++;
    if (i < n) {
      const c = text.charCodeAt(i);
      if (!isSpace(c) && c !== SEMI && c !== LBRACE) {
        this.#pos = i;
        throw new ConfigError(`unexpected "${showToken(text[i])}"`, this.#at());
      }
    }
    this.#pos = i;
    return this.#token("word", escaped ? unescape(raw) : raw, line, true);
  }

  #bareWord(start: number): TokenType {
    const text = this.#text;
    const n = text.length;
    const line = this.#line;
    let i = start;
    let escaped = false;
    while (i < n) {
      // jump over characters that can neither end the word nor need a look
      PLAIN.lastIndex = i;
      PLAIN.test(text);
      i = PLAIN.lastIndex;
      if (i >= n) break;
      const c = text.charCodeAt(i);
      if (c === BACKSLASH) {
        escaped = true;
        if (text.charCodeAt(i + 1) === LF) this.#line++;
        i += 2;
        continue;
      }
      if (c === DOLLAR) {
        // "${" does not open a block
        i += text.charCodeAt(i + 1) === LBRACE ? 2 : 1;
        continue;
      }
      break; // whitespace, ";" or "{"
    }
    if (i > n) i = n;
    this.#pos = i;
    const raw = text.slice(start, i);
    return this.#token("word", escaped ? unescape(raw) : this.#intern(raw), line, false);
  }

  #words = new Map<string, string>();
  #value = "";
  #tokenLine = 1;
  #quoted = false;

  #token(type: TokenType, value: string, line: number, quoted: boolean): TokenType {
    this.#value = value;
    this.#tokenLine = line;
    this.#quoted = quoted;
    return type;
  }

  /** One shared string per distinct short word: far fewer objects survive in big configs. */
  #intern(word: string): string {
    if (word.length > 32) return word;
    const seen = this.#words.get(word);
    if (seen !== undefined) return seen;
    this.#words.set(word, word);
    return word;
  }

  #at() {
    return { file: this.#file, line: this.#line };
  }
}

/**
 * Splits config text into tokens, ending with one "eof" token.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tokenize } from "./lexer.ts";
 * const words = tokenize('echo "a b";').map((t) => t.value);
 * assert.ok(words.join("|") === "echo|a b||");
 * ```
 */
export function tokenize(text: string, file = "<config>"): Token[] {
  const lexer = new Lexer(text, file);
  const out: Token[] = [];
  for (;;) {
    const token = lexer.next();
    out.push(token);
    if (token.type === "eof") return out;
  }
}
