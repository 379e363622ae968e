/**
 * The recording format (`echo_record`, `serve --record`): one JSON object per line per finished
 * session, with the library's {@linkcode Transcript} fields. The bytes of each direction are
 * `{"text": "..."}` when they are valid UTF-8, else `{"base64": "..."}`. A direction cut by the
 * cap in the middle of a character is still text: the character's incomplete start is left out.
 *
 * @module
 */

import { copyBytes, isCount, writeDigits } from "./byte_out.ts";
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
 * only other bytes are decoded. When `truncated` (the cap cut the direction), an incomplete
 * UTF-8 sequence at the very end is left out of the text instead of making it base64.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordedBytes } from "./record_line.ts";
 * assert.deepEqual(recordedBytes("ping\r\n"), { text: "ping\r\n" });
 * assert.deepEqual(recordedBytes("\xc3\xa9"), { text: "é" });
 * assert.deepEqual(recordedBytes("\xff\x00"), { base64: "/wA=" });
 * assert.deepEqual(recordedBytes("A\xc3", true), { text: "A" });
 * ```
 */
export function recordedBytes(binary: string, truncated = false): RecordedBytes {
  if (ASCII.test(binary)) return { text: binary };
  try {
    if (!truncated) return { text: utf8.decode(argBytes(binary)) };
    // Streaming: a valid but incomplete sequence at the end is held back, not an error.
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    return { text: decoder.decode(argBytes(binary), { stream: true }) };
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
  /** Bytes read from the client: `receivedLength` bytes of this buffer from `receivedAt`. */
  receivedBuf: Uint8Array;
  /** Where `receivedBuf` holds them. */
  receivedAt: number;
  /** How many bytes were kept from the client. */
  receivedLength: number;
  /** Bytes sent to the client: `sentLength` bytes of this buffer from `sentAt`. */
  sentBuf: Uint8Array;
  /** Where `sentBuf` holds them. */
  sentAt: number;
  /** How many bytes were kept of those sent. */
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
  const received = argBytes(t.received);
  const sent = argBytes(t.sent);
  const facts: RecordFacts = {
    id: t.id,
    serverIndex: t.serverIndex,
    remoteAddr: t.remoteAddr,
    localAddr: t.localAddr,
    receivedBuf: received,
    receivedAt: 0,
    receivedLength: received.length,
    sentBuf: sent,
    sentAt: 0,
    sentLength: sent.length,
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
 * allocates nothing. The fixed text between the values is copied in few runs, each cached with
 * what rarely changes next to it (an address's host, a time's second, how sessions end).
 */
export function encodeRecordLine(t: RecordFacts, buf: Uint8Array, at: number): number {
  out = buf;
  pos = at;
  put(K_ID);
  putCount(t.id);
  putRemote(t.serverIndex, t.remoteAddr);
  putLocal(t.localAddr);
  putTime(t, startedHead);
  putTime(t, endedHead);
  const reason = t.reason;
  if (reason === undefined) put(endBytes(t.end));
  else {
    put(K_END);
    put(jsonBytes(t.end));
    put(K_REASON);
    putText(JSON.stringify(reason));
    put(K_RECEIVED_TEXT);
  }
  putBytes(t.receivedBuf, t.receivedAt, t.receivedLength, t.receivedTruncated);
  put(K_SENT_TEXT);
  putBytes(t.sentBuf, t.sentAt, t.sentLength, t.sentTruncated);
  put(K_TRUNCATED[(t.receivedTruncated ? 2 : 0) + (t.sentTruncated ? 1 : 0)]);
  putCount(Math.max(t.bytesReceived, t.receivedLength));
  put(K_BYTES_SENT);
  putCount(Math.max(t.bytesSent, t.sentLength));
  const o = out;
  o[pos++] = 125; // }
  o[pos++] = 10; // LF
  const end = pos;
  out = EMPTY; // keep no reference to the caller's buffer
  return end;
}

const EMPTY: Uint8Array = new Uint8Array(0);
const K_ID = ascii('{"id":');
const K_SERVER_INDEX = ascii(',"serverIndex":');
const K_END = ascii('","end":');
const K_REASON = ascii(',"reason":');
/** `received`'s key and the start of its value, which {@linkcode putBytes} starts from. */
const K_RECEIVED_TEXT = ascii(',"received":{"text":"');
/** The end of `received` (as text: see {@linkcode putBytes}), `sent`'s key and its start. */
const K_SENT_TEXT = ascii('"},"sent":{"text":"');
/** The end of `sent`, `truncated` and the key after it, per flags (received * 2 + sent). */
const K_TRUNCATED = [[false, false], [false, true], [true, false], [true, true]].map(([r, s]) =>
  ascii(`"},"truncated":{"received":${r},"sent":${s}},"bytesReceived":`)
);
const K_BYTES_SENT = ascii(',"bytesSent":');
const K_TEXT = ascii('{"text":"');
const K_BASE64 = ascii('{"base64":"');
const HEX = ascii("0123456789abcdef");
/** 1 for the bytes a JSON string holds as they are: ASCII but `"`, `\\` and control bytes. */
const PLAIN = new Uint8Array(256).map((_, c) =>
  c >= 0x20 && c < 0x80 && c !== 0x22 && c !== 0x5c ? 1 : 0
);
const BASE64 = ascii("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

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

/**
 * `","end":"eof","received":{"text":"` for a session that ended without a reason: the last end
 * written (most sessions end alike), else cached per end.
 */
let lastEnd = "";
let lastEndBytes: Uint8Array = EMPTY;
const endCache = new Map<string, Uint8Array>();

function endBytes(end: string): Uint8Array {
  if (end === lastEnd && lastEndBytes !== EMPTY) return lastEndBytes;
  let bytes = endCache.get(end);
  if (bytes === undefined) {
    bytes = encoder.encode(`","end":${JSON.stringify(end)},"received":{"text":"`);
    if (endCache.size < 64) endCache.set(end, bytes);
  }
  lastEnd = end;
  lastEndBytes = bytes;
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
  if (!isCount(n)) {
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

/**
 * A time field: its key (with the `"` that ends the field before it) and the time's text up to
 * the milliseconds, as bytes, kept for the second last written.
 */
interface TimeHead {
  /** For `startedAt` (else `endedAt`). */
  started: boolean;
  /** `,"startedAt":"` or `","endedAt":"`. */
  key: Uint8Array;
  /** The second `bytes` is for. */
  second: number;
  /** `key` and `YYYY-MM-DDTHH:MM:SS.` of `second`. */
  bytes: Uint8Array;
}

const startedHead: TimeHead = {
  started: true,
  key: ascii(',"startedAt":"'),
  second: NaN,
  bytes: EMPTY,
};
const endedHead: TimeHead = {
  started: false,
  key: ascii('","endedAt":"'),
  second: NaN,
  bytes: EMPTY,
};

/**
 * Writes `head`'s key and `new Date(ms).toISOString()` of `t`'s time that `head` is for (read
 * here: a time passed as an argument to a call that is not inlined is boxed, 16 bytes each).
 */
function putTime(t: RecordFacts, head: TimeHead): void {
  const ms = head.started ? t.startedAt : t.endedAt;
  const second = Math.floor(ms / 1000);
  if (second !== head.second && !newSecond(ms, head)) return;
  put(head.bytes);
  const o = out;
  let p = pos;
  const milli = ms - second * 1000;
  const tens = Math.floor(milli / 10);
  o[p++] = 48 + Math.floor(tens / 10);
  o[p++] = 48 + tens % 10;
  o[p++] = 48 + milli - tens * 10;
  o[p++] = 90; // Z
  pos = p;
}

/**
 * A time in another second than `head` holds (the rare path of {@linkcode putTime}, a call of
 * its own): caches that second's head and returns true; a time outside the years 0000-9999 (or
 * NaN) is written whole instead (key and text), never cached, and false returned.
 */
function newSecond(ms: number, head: TimeHead): boolean {
  if (!(ms >= 0 && ms < ISO_FIXED_END)) {
    put(head.key);
    putText(new Date(ms).toISOString());
    return false;
  }
  const key = head.key;
  const bytes = new Uint8Array(key.length + 20);
  bytes.set(key);
  encoder.encodeInto(new Date(ms).toISOString().slice(0, 20), bytes.subarray(key.length));
  head.bytes = bytes;
  head.second = Math.floor(ms / 1000);
  return true;
}

/**
 * `serverIndex` and the client's address up to its port, as bytes, for the last server block
 * and TCP (or UDP) host written (a server sees few hosts): one copy, and the port's digits.
 */
let remoteIndex = NaN;
let remoteHost = "";
let remoteTransport = "";
let remoteBytes: Uint8Array = EMPTY;

function putRemote(serverIndex: number, a: Deno.Addr): void {
  if (a.transport !== "tcp" && a.transport !== "udp") {
    put(K_SERVER_INDEX);
    putCount(serverIndex);
    putText(`,"remoteAddr":${JSON.stringify(a)}`);
    return;
  }
  if (a.hostname !== remoteHost || a.transport !== remoteTransport || serverIndex !== remoteIndex) {
    remoteBytes = encoder.encode(
      `,"serverIndex":${JSON.stringify(serverIndex)},"remoteAddr":{"transport":"${a.transport}",` +
        `"hostname":${JSON.stringify(a.hostname)},"port":`,
    );
    remoteIndex = serverIndex;
    remoteHost = a.hostname;
    remoteTransport = a.transport;
  }
  put(remoteBytes);
  putCount(a.port);
  out[pos++] = 125; // }
}

/** The listener's address (its field whole), as bytes, for the last TCP (or UDP) one written. */
let localHost = "";
let localTransport = "";
let localPort = NaN;
let localBytes: Uint8Array = EMPTY;

function putLocal(a: Deno.Addr): void {
  if (a.transport !== "tcp" && a.transport !== "udp") {
    putText(`,"localAddr":${JSON.stringify(a)}`);
    return;
  }
  if (a.port !== localPort || a.hostname !== localHost || a.transport !== localTransport) {
    localBytes = encoder.encode(
      `,"localAddr":{"transport":"${a.transport}","hostname":${JSON.stringify(a.hostname)},` +
        `"port":${JSON.stringify(a.port)}}`,
    );
    localHost = a.hostname;
    localTransport = a.transport;
    localPort = a.port;
  }
  put(localBytes);
}

function addrBound(a: Deno.Addr): number {
  return a.transport === "tcp" || a.transport === "udp"
    ? 64 + 6 * a.hostname.length
    : 64 + 6 * JSON.stringify(a).length;
}

/**
 * One direction's bytes (`length` bytes of `src` from `at`), after the `{"text":"` already
 * written: when they are valid UTF-8, written byte for byte with only `"`, `\\` and control bytes
 * escaped, as `JSON.stringify` escapes them (the bytes of the decoded text's JSON); else the
 * `{"text":"` is taken back and `{"base64":"...` written instead. One pass over the bytes: the
 * UTF-8 check (the decoder's, `fatal`: no overlong forms, surrogates or code points past
 * U+10FFFF, no sequence cut short) runs as they are copied. When `cut` (the cap truncated the
 * direction), a valid start of a sequence that the end cuts short is left out of the text.
 */
function putBytes(src: Uint8Array, at: number, length: number, cut: boolean): void {
  const o = out;
  let p = pos;
  const end = at + length;
  let i = at;
  while (i < end) {
    const c = src[i++];
    if (PLAIN[c] === 1) {
      o[p++] = c;
      continue;
    }
    if (c < 0x80) {
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
      continue;
    }
    // A UTF-8 sequence: its lead byte, then its continuation bytes (the first one's range is
    // narrower after E0, ED, F0 and F4), copied as they are.
    let more: number;
    let low = 0x80;
    let high = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) more = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      if (c === 0xe0) low = 0xa0;
      else if (c === 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      if (c === 0xf0) low = 0x90;
      else if (c === 0xf4) high = 0x8f;
    } else return putBase64(src, at, length);
    if (end - i < more) {
      if (!cut) return putBase64(src, at, length);
      // Cut by the cap: leave the incomplete tail out if what there is of it is valid.
      for (; i < end; i++, low = 0x80, high = 0xbf) {
        if (src[i] < low || src[i] > high) return putBase64(src, at, length);
      }
      break;
    }
    o[p++] = c;
    for (; more > 0; more--) {
      const d = src[i++];
      if (d < low || d > high) return putBase64(src, at, length);
      o[p++] = d;
      low = 0x80;
      high = 0xbf;
    }
  }
  pos = p;
}

/** Takes back the `{"text":"` just before `pos` and writes `{"base64":"` and the bytes. */
function putBase64(src: Uint8Array, at: number, length: number): void {
  pos -= K_TEXT.length;
  put(K_BASE64);
  const o = out;
  let p = pos;
  const end = at + length;
  let i = at;
  for (; i + 3 <= end; i += 3) {
    const n = (src[i] << 16) | (src[i + 1] << 8) | src[i + 2];
    o[p++] = BASE64[n >> 18];
    o[p++] = BASE64[(n >> 12) & 63];
    o[p++] = BASE64[(n >> 6) & 63];
    o[p++] = BASE64[n & 63];
  }
  if (i < end) {
    const two = i + 1 < end;
    const n = (src[i] << 16) | (two ? src[i + 1] << 8 : 0);
    o[p++] = BASE64[n >> 18];
    o[p++] = BASE64[(n >> 12) & 63];
    o[p++] = two ? BASE64[(n >> 6) & 63] : 0x3d; // =
    o[p++] = 0x3d;
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
