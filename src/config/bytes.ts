/**
 * Config text is bytes. A config is read as bytes and held as a *binary string*: one
 * character per byte (code 0-255, latin1), so every byte of an argument reaches the client
 * exactly as written, whether or not it is valid UTF-8, as in nginx. Text handed to the
 * library as a JS string is UTF-8 encoded first, then handled the same way.
 *
 * This file is the one place that converts:
 * - {@link bytesToBinary} and {@link textToBinary}: into the binary string the lexer reads;
 * - {@link argBytes}: a token (binary string) into the bytes sent to a client;
 * - {@link binaryToText}: a token that names a file (include, certificates, error_log, pid,
 *   unix sockets) into the UTF-8 text the operating system is given;
 * - {@link showToken}: a token quoted in a message, bounded and with bytes >= 0x80 and control
 *   bytes shown as `\xNN`, so a message is short, one line and plain ASCII.
 *
 * Every directive argument (`Directive.args`) is such a binary string: compare it with ASCII
 * literals as usual, run regular expressions over it byte by byte, and convert it with these
 * helpers, never with `TextEncoder`/`TextDecoder` directly.
 *
 * @module
 */

import { Buffer } from "node:buffer";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ASCII = /^[\0-\x7f]*$/;
const CHUNK = 8192;

/**
 * Bytes as a binary string: character `i` has code `bytes[i]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesToBinary } from "./bytes.ts";
 * assert.equal(bytesToBinary(new Uint8Array([0x61, 0xff])), "a\xff");
 * ```
 */
export function bytesToBinary(bytes: Uint8Array): string {
  if (bytes.length <= CHUNK) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  // node's "latin1" is true ISO-8859-1 (one character per byte, 0x80-0x9f included), and
  // ten times faster than fromCharCode over chunks on large configs
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
}

/**
 * Text (a JS string) as the binary string of its UTF-8 bytes; ASCII text is returned as is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textToBinary } from "./bytes.ts";
 * assert.equal(textToBinary("é"), "\xc3\xa9");
 * assert.equal(textToBinary("plain"), "plain");
 * ```
 */
export function textToBinary(text: string): string {
  if (ASCII.test(text)) return text;
  return bytesToBinary(encoder.encode(text));
}

/**
 * Writes the bytes of a binary string into `target` at `offset` (which must have room for
 * `s.length` bytes); returns the offset after them. Throws a RangeError for a character
 * above 0xff: such a string is text, not a token (convert it with {@link textToBinary}).
 */
export function argBytesInto(s: string, target: Uint8Array, offset: number): number {
  let at = offset;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) {
      throw new RangeError(`not a binary string: character ${i} is U+${c.toString(16)}`);
    }
    target[at++] = c;
  }
  return at;
}

/**
 * The bytes of a token (binary string): the bytes that are sent to a client.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { argBytes } from "./bytes.ts";
 * assert.deepEqual(argBytes("a\xff\0"), new Uint8Array([0x61, 0xff, 0]));
 * ```
 */
export function argBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  argBytesInto(s, out, 0);
  return out;
}

/**
 * A token read as UTF-8 text, for what is handed to the operating system or a TLS library
 * (paths, certificate text). Invalid UTF-8 becomes U+FFFD.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { binaryToText } from "./bytes.ts";
 * assert.equal(binaryToText("/etc/caf\xc3\xa9.conf"), "/etc/café.conf");
 * ```
 */
export function binaryToText(s: string): string {
  if (ASCII.test(s)) return s;
  return decoder.decode(argBytes(s));
}

/** How many bytes of a token a message quotes at most. */
export const SHOWN_TOKEN_BYTES = 64;

const HEX = "0123456789ABCDEF";

/** `\xNN` for a byte (or control character) `code`. */
function hexEscape(code: number): string {
  return `\\x${HEX[code >> 4]}${HEX[code & 15]}`;
}

/**
 * A token as shown inside a message: its first {@link SHOWN_TOKEN_BYTES} bytes (then `...`),
 * with control bytes and bytes >= 0x80 written `\xNN`. Put it in quotes yourself.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showToken } from "./bytes.ts";
 * assert.equal(showToken("a\xff\n"), "a\\xFF\\x0A");
 * assert.equal(showToken("x".repeat(100)), "x".repeat(64) + "...");
 * ```
 */
export function showToken(s: string, max: number = SHOWN_TOKEN_BYTES): string {
  const cut = s.length > max;
  const head = cut ? s.slice(0, max) : s;
  let out = "";
  let plain = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) continue;
    out += head.slice(plain, i);
    out += c > 0xff ? `\\u{${c.toString(16)}}` : hexEscape(c);
    plain = i + 1;
  }
  out += head.slice(plain);
  return cut ? out + "..." : out;
}

/** How many characters of a path a message quotes at most. */
export const SHOWN_PATH_CHARS = 256;

/**
 * A path (text, already decoded) as shown in a message: at most {@link SHOWN_PATH_CHARS}
 * characters (then `...`), control characters written `\xNN`; other characters as they are.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { showPath } from "./bytes.ts";
 * assert.equal(showPath("/etc/café\n.conf"), "/etc/café\\x0A.conf");
 * ```
 */
export function showPath(path: string): string {
  const cut = path.length > SHOWN_PATH_CHARS;
  const head = cut ? path.slice(0, SHOWN_PATH_CHARS) : path;
  const shown = escapeControls(head);
  return cut ? shown + "..." : shown;
}

// Control characters are what these look for.
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x1f\x7f]/g;

function controlHex(c: string): string {
  return hexEscape(c.charCodeAt(0));
}

/**
 * `text` with its control characters (below 0x20, and 0x7f) written `\xNN`, other characters as
 * they are: what {@linkcode showPath} shows, uncut, and what keeps a line of the nginx-format error
 * log one line whatever a message or an address holds (a Unix socket path with a newline, a tab).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeControls } from "./bytes.ts";
 * assert.equal(escapeControls("unix:/tmp/a\nb\tc.sock"), "unix:/tmp/a\\x0Ab\\x09c.sock");
 * assert.equal(escapeControls("unix:/tmp/café.sock"), "unix:/tmp/café.sock");
 * ```
 */
export function escapeControls(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROLS, controlHex) : text;
}
