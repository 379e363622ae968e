/**
 * The recording format (`echo_record`, `serve --record`): one JSON object per line per finished
 * session, with the library's {@linkcode Transcript} fields. The bytes of each direction are
 * `{"text": "..."}` when they are valid UTF-8, else `{"base64": "..."}`.
 *
 * @module
 */

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
  // Written field by field (one JSON.stringify per string that may need escaping): the same
  // object as a JSON.stringify of a RecordLine, at half the cost per session.
  const reason = t.reason === undefined ? "" : `,"reason":${JSON.stringify(t.reason)}`;
  return `{"id":${t.id},"serverIndex":${t.serverIndex},"remoteAddr":${addrJson(t.remoteAddr)},` +
    `"localAddr":${addrJson(t.localAddr)},"startedAt":"${isoTime(t.startedAt)}",` +
    `"endedAt":"${isoTime(t.endedAt)}","end":${JSON.stringify(t.end)}${reason},` +
    `"received":${bytesJson(t.received)},"sent":${bytesJson(t.sent)},` +
    `"truncated":{"received":${t.truncated.received},"sent":${t.truncated.sent}},` +
    `"bytesReceived":${Math.max(totals.received, t.received.length)},` +
    `"bytesSent":${Math.max(totals.sent, t.sent.length)}}\n`;
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

/** The last hostname {@linkcode addrJson} quoted, and its JSON (a server sees few of them). */
let lastHost = "";
let lastHostJson = '""';

function addrJson(a: Deno.Addr): string {
  if (a.transport === "tcp" || a.transport === "udp") {
    if (a.hostname !== lastHost) {
      lastHostJson = JSON.stringify(a.hostname);
      lastHost = a.hostname;
    }
    return `{"transport":"${a.transport}","hostname":${lastHostJson},"port":${a.port}}`;
  }
  return JSON.stringify(a);
}

function bytesJson(binary: string): string {
  if (ASCII.test(binary)) return `{"text":${JSON.stringify(binary)}}`; // no object in between
  const r = recordedBytes(binary);
  return "text" in r ? `{"text":${JSON.stringify(r.text)}}` : `{"base64":"${r.base64}"}`;
}
