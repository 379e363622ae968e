/**
 * `--debug-hexdump`: each read and write of a session in hex and ASCII, in rows of 16 bytes
 * like `ncat -x`: offset, the bytes in two groups of 8, then the printable characters (`.` for
 * the others).
 *
 * @module
 */

const HEX = "0123456789ABCDEF";

/**
 * The rows of a hex dump of `bytes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hexdumpRows } from "./hexdump.ts";
 * assert.deepEqual(hexdumpRows(new TextEncoder().encode("ping\r\n")), [
 *   "[0000]   70 69 6E 67 0D 0A                                   ping..",
 * ]);
 * ```
 */
export function hexdumpRows(bytes: Uint8Array): string[] {
  const rows: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    let hex = "";
    let ascii = "";
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += "  ";
      if (off + i < bytes.length) {
        const b = bytes[off + i];
        hex += `${HEX[b >> 4]}${HEX[b & 15]} `;
        ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
      } else {
        hex += "   ";
      }
    }
    rows.push(`[${off.toString(16).toUpperCase().padStart(4, "0")}]   ${hex}  ${ascii}`);
  }
  return rows;
}
