/**
 * The recording format (`echo_record`, `serve --record`): one JSON object per line per finished
 * session, with the library's {@linkcode Transcript} fields. The bytes of each direction are
 * `{"text": "..."}` when they are valid UTF-8, else `{"base64": "..."}`.
 *
 * @module
 */

import { copyBytes, writeDigits } from "./byte_out.ts";
import { argBytes } from "../config/bytes.ts";
import type { Transcript } from "../lib/transcript.ts";

/**
 * Most bytes recorded per direction per session (64 KiB); beyond it the direction is marked in
 * `truncated` and the rest is counted in `bytesReceived` / `bytesSent` only.
 */
export const RECORD_MAX_BYTES = 64 * 1024;

/** One direction's bytes in a recording line. */
export type RecordedBytes = { text: string } | { base64: string };

/** What one line of a recording file holds (its JSON object). */
export interface RecordLine {
  /** Connection number, as `*N` in the error log. */
  id: number;
  /** Index of the server block (in the config's order) that served it. */
  serverIndex: number;
  /** The client's address (`{transport, hostname, port}` or `{transport, path}`). */
  remoteAddr: Deno.Addr;
  /** The listener's address the client connected to. */
  localAddr: Deno.Addr;
  /** When the connection was accepted (ISO 8601, UTC). */
  startedAt: string;
  /** When the session ended (ISO 8601, UTC). */
  endedAt: string;
  /** How it ended: eof, reset, timeout, mismatch, error or shutdown. */
  end: string;
  /** Why, for ends other than eof. */
  reason?: string;
  /** Bytes read from the client (at most {@linkcode RECORD_MAX_BYTES}). */
  received: RecordedBytes;
  /** Bytes sent to the client (at most {@linkcode RECORD_MAX_BYTES}). */
  sent: RecordedBytes;
  /** Which direction hit the cap. */
  truncated: { received: boolean; sent: boolean };
  /** All bytes read from the client, recorded or not. */
  bytesReceived: number;
  /** All bytes sent to the client, recorded or not. */
  bytesSent: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/**
 * `{"text"}` when the bytes are valid UTF-8, else `{"base64"}`. `binary` holds one character
 * (0-255) per byte, as `ByteRecorder.binary()` gives them: ASCII is text as it is, and
 * only other bytes are decoded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordedBytes } from "./record_line.ts";
 * assert.deepEqual(recordedBytes("ping\r\n"), { text: "ping\r\n" });
 * assert.deepEqual(recordedBytes("\xc3\xa9"), { text: "é" });
 * assert.deepEqual(recordedBytes("\xff\x00"), { base64: "/wA=" });
 * ```
 */
export function recordedBytes(binary: string): RecordedBytes {
  if (ASCII.test(binary)) return { text: binary };
  try {
    return { text: utf8.decode(argBytes(binary)) };
  } catch {
    return { base64: btoa(binary) };
  }
}

/** What {@linkcode recordLine} writes: a transcript whose bytes are binary strings. */
export interface RecordSource
  extends Omit<Transcript, "received" | "sent" | "startedAt" | "endedAt"> {
  /** Bytes read from the client, one character (0-255) per byte. */
  received: string;
  /** Bytes sent to the client, one character (0-255) per byte. */
  sent: string;
  /** When the connection was accepted: a Date, or ms since the epoch. */
  startedAt: Date | number;
  /** When the session ended: a Date, or ms since the epoch. */
  endedAt: Date | number;
}

/**
 * What {@linkcode encodeRecordLine} writes: one finished session, flat (a recording keeps one
 * such object per session and fills in its end, so writing its line allocates nothing).
 */
export interface RecordFacts {
  /** Connection number. */
  id: number;
  /** Index of the server block. */
  serverIndex: number;
  /** The client's address. */
  remoteAddr: Deno.Addr;
  /** The listener's address. */
  localAddr: Deno.Addr;
  /**
   * Bytes read from the client, one character (0-255) per byte, in the pieces they came in (kept
   * apart: a string built by `+=` is flattened by the runtime when first read byte by byte).
   */
  received: readonly string[];
  /** How many bytes `received` holds. */
  receivedLength: number;
  /** Bytes sent to the client, likewise. */
  sent: readonly string[];
  /** How many bytes `sent` holds. */
  sentLength: number;
  /** `received` hit the cap. */
  receivedTruncated: boolean;
  /** `sent` hit the cap. */
  sentTruncated: boolean;
  /** How it ended. */
  end: string;
  /** Why, for ends other than eof (left out when undefined). */
  reason?: string | undefined;
  /** When the connection was accepted, in ms since the epoch. */
  startedAt: number;
  /** When the session ended, in ms since the epoch. */
  endedAt: number;
  /** All bytes read from the client, as the server counted them. */
  bytesReceived: number;
  /** All bytes sent to the client, as the server counted them. */
  bytesSent: number;
}

/**
 * The JSON line (with its LF) for one finished session. `totals` are the bytes each way the
 * server counted, which may exceed what the transcript kept.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordLine } from "./record_line.ts";
 * const line = recordLine({
 *   id: 1, serverIndex: 0, end: "eof",
 *   remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 5000 },
 *   localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1234 },
 *   received: "ping", sent: "\xff\x00",
 *   truncated: { received: false, sent: false },
 *   startedAt: new Date(0), endedAt: new Date(5),
 * }, { received: 4, sent: 2 });
 * const o = JSON.parse(line);
 * assert.deepEqual([o.received, o.sent, o.bytesSent], [{ text: "ping" }, { base64: "/wA=" }, 2]);
 * ```
 */
export function recordLine(t: RecordSource, totals: { received: number; sent: number }): string {
  const facts: RecordFacts = {
    id: t.id,
    serverIndex: t.serverIndex,
    remoteAddr: t.remoteAddr,
    localAddr: t.localAddr,
    received: [t.received],
    receivedLength: t.received.length,
    sent: [t.sent],
    sentLength: t.sent.length,
    receivedTruncated: t.truncated.received,
    sentTruncated: t.truncated.sent,
    end: t.end,
    reason: t.reason,
    startedAt: typeof t.startedAt === "number" ? t.startedAt : t.startedAt.getTime(),
    endedAt: typeof t.endedAt === "number" ? t.endedAt : t.endedAt.getTime(),
    bytesReceived: totals.received,
    bytesSent: totals.sent,
  };
  const buf = new Uint8Array(recordLineBound(facts));
  return utf8Text.decode(buf.subarray(0, encodeRecordLine(facts, buf, 0)));
}

const utf8Text = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Most bytes {@linkcode encodeRecordLine} writes for `t`: room for the fixed text, and for each
 * string six bytes per character (a `\u00XX` escape), three for other text.
 */
export function recordLineBound(t: RecordFacts): number {
  return 512 + 6 * (t.receivedLength + t.sentLength) +
    3 * (addrBound(t.remoteAddr) + addrBound(t.localAddr) + t.end.length) +
    (t.reason === undefined ? 0 : 6 * t.reason.length);
}

/** The buffer {@linkcode encodeRecordLine} writes into, and where. */
let out: Uint8Array = new Uint8Array(0);
let pos = 0;

/**
 * Writes `t`'s line (UTF-8, with its LF) into `buf` at `at`, which must have
 * {@linkcode recordLineBound} bytes of room, and returns where it ends. The bytes are those of
 * a `JSON.stringify` of its {@linkcode RecordLine} (same fields, order and escapes), written
 * straight into the buffer: no string is built for the line, and a short session's line
 * allocates nothing.
 */
export function encodeRecordLine(t: RecordFacts, buf: Uint8Array, at: number): number {
  out = buf;
  pos = at;
  put(K_ID);
  putCount(t.id);
  put(K_SERVER_INDEX);
  putCount(t.serverIndex);
  put(K_REMOTE);
  putAddr(t.remoteAddr);
  put(K_LOCAL);
  putAddr(t.localAddr);
  put(K_STARTED);
  putTime(t.startedAt);
  put(K_ENDED);
  putTime(t.endedAt);
  put(K_END);
  put(jsonBytes(t.end));
  if (t.reason !== undefined) {
    put(K_REASON);
    putText(JSON.stringify(t.reason));
  }
  put(K_RECEIVED);
  putBytes(t.received);
  put(K_SENT);
  putBytes(t.sent);
  put(K_TRUNCATED[(t.receivedTruncated ? 2 : 0) + (t.sentTruncated ? 1 : 0)]);
  putCount(Math.max(t.bytesReceived, t.receivedLength));
  put(K_BYTES_SENT);
  putCount(Math.max(t.bytesSent, t.sentLength));
  put(K_CLOSE);
  const end = pos;
  out = EMPTY; // keep no reference to the caller's buffer
  return end;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const K_ID = ascii('{"id":');
const K_SERVER_INDEX = ascii(',"serverIndex":');
const K_REMOTE = ascii(',"remoteAddr":');
const K_LOCAL = ascii(',"localAddr":');
const K_STARTED = ascii(',"startedAt":"');
const K_ENDED = ascii('","endedAt":"');
const K_END = ascii('","end":');
const K_REASON = ascii(',"reason":');
const K_RECEIVED = ascii(',"received":');
const K_SENT = ascii(',"sent":');
/** `truncated` and the key after it, for each pair of flags (received * 2 + sent). */
const K_TRUNCATED = [[false, false], [false, true], [true, false], [true, true]].map(([r, s]) =>
  ascii(`,"truncated":{"received":${r},"sent":${s}},"bytesReceived":`)
);
const K_BYTES_SENT = ascii(',"bytesSent":');
const K_CLOSE = ascii("}\n");
const K_TEXT = ascii('{"text":"');
const K_BASE64 = ascii('{"base64":"');
const K_STRING_CLOSE = ascii('"}');
const HEX = ascii("0123456789abcdef");

/** The JSON of the few strings that repeat on every line (how sessions end), as bytes. */
const jsonCache = new Map<string, Uint8Array>();

function jsonBytes(text: string): Uint8Array {
  let bytes = jsonCache.get(text);
  if (bytes === undefined) {
    bytes = encoder.encode(JSON.stringify(text));
    if (jsonCache.size < 64) jsonCache.set(text, bytes);
  }
  return bytes;
}

function ascii(text: string): Uint8Array {
  return encoder.encode(text);
}

function put(bytes: Uint8Array): void {
  pos = copyBytes(out, pos, bytes);
}

/** A non-negative integer's digits (anything else as `JSON.stringify` writes it). */
function putCount(n: number): void {
  if (!(n >= 0 && n <= 0x7fffffff && (n | 0) === n)) {
    putText(JSON.stringify(n));
    return;
  }
  pos = writeDigits(out, pos, n);
}

/** `text` (JSON already) as UTF-8. */
function putText(text: string): void {
  const o = out;
  let p = pos;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      pos = p + encoder.encodeInto(text.slice(i), o.subarray(p)).written;
      return;
    }
    o[p++] = c;
  }
  pos = p;
}

function putTime(ms: number): void {
  if (!(ms >= 0 && ms < ISO_FIXED_END)) {
    putText(new Date(ms).toISOString());
    return;
  }
  const second = Math.floor(ms / 1000);
  if (second !== isoBytesSecond) {
    isoBytes = encoder.encode(new Date(ms).toISOString().slice(0, 20));
    isoBytesSecond = second;
  }
  const o = out;
  let p = pos;
  const prefix = isoBytes;
  for (let i = 0; i < 20; i++) o[p++] = prefix[i];
  const milli = ms - second * 1000;
  const tens = Math.floor(milli / 10);
  o[p++] = 48 + Math.floor(tens / 10);
  o[p++] = 48 + tens % 10;
  o[p++] = 48 + milli - tens * 10;
  o[p++] = 90; // Z
  pos = p;
}

/** The second {@linkcode putTime} last wrote, and its text up to the milliseconds as bytes. */
let isoBytesSecond = NaN;
let isoBytes: Uint8Array = new Uint8Array(20);

/** The last TCP (or UDP) address's text up to its port, as bytes (a server sees few hosts). */
let lastHost = "";
let lastTransport = "";
let lastAddrHead: Uint8Array = new Uint8Array(0);

function putAddr(a: Deno.Addr): void {
  if (a.transport === "tcp" || a.transport === "udp") {
    if (a.hostname !== lastHost || a.transport !== lastTransport) {
      lastAddrHead = encoder.encode(
        `{"transport":"${a.transport}","hostname":${JSON.stringify(a.hostname)},"port":`,
      );
      lastHost = a.hostname;
      lastTransport = a.transport;
    }
    put(lastAddrHead);
    putCount(a.port);
    out[pos++] = 125; // }
    return;
  }
  putText(JSON.stringify(a));
}

function addrBound(a: Deno.Addr): number {
  return a.transport === "tcp" || a.transport === "udp"
    ? 64 + 6 * a.hostname.length
    : 64 + 6 * JSON.stringify(a).length;
}

/**
 * One direction's bytes (binary strings, in pieces): `{"text":"..."}` when they are valid UTF-8,
 * else `{"base64":"..."}`. Valid UTF-8 is written byte for byte, only `"`, `\\` and control
 * bytes escaped, as `JSON.stringify` escapes them: the bytes of the decoded text's JSON.
 */
function putBytes(parts: readonly string[]): void {
  let text = true;
  scan: for (const binary of parts) {
    for (let i = 0; i < binary.length; i++) {
      if (binary.charCodeAt(i) >= 0x80) {
        text = "text" in recordedBytes(parts.join(""));
        break scan;
      }
    }
  }
  if (!text) {
    put(K_BASE64);
    putText(btoa(parts.join("")));
    put(K_STRING_CLOSE);
    return;
  }
  put(K_TEXT);
  for (const binary of parts) putEscaped(binary);
  put(K_STRING_CLOSE);
}

/**
 * Bytes of valid UTF-8 (a binary string) as JSON string content: byte for byte, only `"`, `\\`
 * and control bytes escaped, as `JSON.stringify` escapes them.
 */
function putEscaped(binary: string): void {
  const o = out;
  let p = pos;
  for (let i = 0; i < binary.length; i++) {
    const c = binary.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
      o[p++] = c;
      continue;
    }
    o[p++] = 0x5c; // backslash
    switch (c) {
      case 0x22:
      case 0x5c:
        o[p++] = c;
        break;
      case 0x08:
        o[p++] = 0x62; // b
        break;
      case 0x09:
        o[p++] = 0x74; // t
        break;
      case 0x0a:
        o[p++] = 0x6e; // n
        break;
      case 0x0c:
        o[p++] = 0x66; // f
        break;
      case 0x0d:
        o[p++] = 0x72; // r
        break;
      default:
        o[p++] = 0x75; // u00XX
        o[p++] = 0x30;
        o[p++] = 0x30;
        o[p++] = HEX[c >> 4];
        o[p++] = HEX[c & 15];
    }
  }
  pos = p;
}

/** The second {@linkcode isoTime} last formatted, and its text up to the milliseconds. */
let isoSecond = NaN;
let isoPrefix = "";
/** Years 0000-9999: where `toISOString()` has the fixed `YYYY-MM-DDTHH:MM:SS.mmmZ` form. */
const ISO_FIXED_END = 253402300800000;

/**
 * `date.toISOString()` (`date` a Date or ms since the epoch), formatted once per second (a session's two times cost ~0.7 us each
 * otherwise): the lines of one second share the text up to the milliseconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isoTime } from "./record_line.ts";
 * for (const ms of [0, 5, 1796184224719, 1796184224999, 1796184225000, -1, 8.64e15]) {
 *   assert.equal(isoTime(new Date(ms)), new Date(ms).toISOString());
 * }
 * ```
 */
export function isoTime(date: Date | number): string {
  const ms = typeof date === "number" ? date : date.getTime();
  if (!(ms >= 0 && ms < ISO_FIXED_END)) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoPrefix = new Date(ms).toISOString().slice(0, 20);
    isoSecond = second;
  }
  const milli = ms - second * 1000;
  return isoPrefix + (milli < 10 ? "00" : milli < 100 ? "0" : "") + milli + "Z";
}
