/**
 * The variables of the access log (nginx's stream log module, plus `$echo_end`): their names,
 * and how each is read from the facts of one finished session. The config compiler checks
 * names against {@linkcode LOG_VARIABLES}; nothing here runs unless an access log is on.
 *
 * @module
 */

/** What the access log knows about one finished session. */
export interface SessionFacts {
  /** Connection number (`$connection`, `*N` in the error log). */
  connection: number;
  /** The client's address. */
  remoteAddr: Deno.Addr;
  /** The listener's address the client connected to. */
  localAddr: Deno.Addr;
  /** How the session ended: eof, reset, timeout, mismatch, error or shutdown. */
  end: string;
  /** Bytes read from the client. */
  bytesReceived: number;
  /** Bytes sent to the client. */
  bytesSent: number;
  /** When the connection was accepted, ms since the epoch. */
  startedAt: number;
  /** When the session ended, ms since the epoch. */
  endedAt: number;
}

/** Reads one variable; `undefined` is nginx's "not found" (`-` in the default escape mode). */
export type VariableGetter = (facts: SessionFacts) => string | undefined;

/**
 * `$status` by how the session ended, as nginx stream's codes: 200 for a normal end (and a
 * server shutdown, as nginx's stream proxy logs one), 400 for the client's fault (it reset, went
 * silent, or sent bytes the script did not expect), 500 for a script error.
 */
export const STATUS_BY_END: Readonly<Record<string, string>> = Object.freeze({
  eof: "200",
  shutdown: "200",
  reset: "400",
  timeout: "400",
  mismatch: "400",
  error: "500",
});

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** `+0100` / `-0530` (or `+01:00` with `colon`) for `date`'s local offset. */
function zone(date: Date, colon: boolean): string {
  const off = -date.getTimezoneOffset();
  const abs = Math.abs(off);
  return `${off < 0 ? "-" : "+"}${pad2(Math.floor(abs / 60))}${colon ? ":" : ""}${pad2(abs % 60)}`;
}

/** nginx's `$time_local`: `02/Dec/2026:02:30:48 +0000` (local time). */
export function timeLocal(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${zone(d, false)}`;
}

/** nginx's `$time_iso8601`: `2026-12-02T02:30:48+00:00` (local time). */
export function timeIso8601(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}${zone(d, true)}`;
}

/** Seconds with millisecond resolution, nginx's `%T.%03M`: `1764642648.123`, `0.012`. */
export function seconds(ms: number): string {
  const whole = Math.floor(ms / 1000);
  const frac = Math.floor(ms - whole * 1000);
  return `${whole}.${frac < 10 ? "00" : frac < 100 ? "0" : ""}${frac}`;
}

/** One cached formatted time per second: lines logged in the same second share the work. */
function perSecond(format: (ms: number) => string): (ms: number) => string {
  let second = NaN;
  let text = "";
  return (ms) => {
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      text = format(s * 1000);
    }
    return text;
  };
}

const cachedTimeLocal = perSecond(timeLocal);
const cachedTimeIso = perSecond(timeIso8601);

/** The client as nginx names it: the IP address, or `unix:` for a Unix-socket client. */
function hostOf(addr: Deno.Addr): string {
  if (addr.transport === "tcp" || addr.transport === "udp") return addr.hostname;
  return "unix:";
}

function portOf(addr: Deno.Addr): string {
  return addr.transport === "tcp" || addr.transport === "udp" ? String(addr.port) : "";
}

let hostname: string | undefined;

/**
 * The machine's name, as nginx's `gethostname()`: `Deno.hostname()` when `--allow-sys=hostname`
 * is granted, else /etc/hostname (readable with `--allow-read`; on Linux, containers included,
 * it holds the same name), else "localhost". Read once.
 */
function machineName(): string {
  if (hostname !== undefined) return hostname;
  try {
    if (Deno.permissions.querySync({ name: "sys", kind: "hostname" }).state === "granted") {
      hostname = Deno.hostname();
    }
  } catch { /* no permissions API */ }
  if (!hostname) {
    try {
      hostname = Deno.readTextFileSync("/etc/hostname").trim();
    } catch { /* not there, or no read permission */ }
  }
  hostname ||= "localhost";
  return hostname;
}

const GETTERS: ReadonlyMap<string, VariableGetter> = new Map<string, VariableGetter>([
  ["remote_addr", (f) => hostOf(f.remoteAddr)],
  ["remote_port", (f) => portOf(f.remoteAddr)],
  ["server_addr", (f) => {
    const a = f.localAddr;
    if (a.transport === "tcp" || a.transport === "udp") return a.hostname;
    return `unix:${"path" in a ? a.path ?? "" : ""}`;
  }],
  ["server_port", (f) => portOf(f.localAddr)],
  ["protocol", () => "TCP"],
  ["status", (f) => STATUS_BY_END[f.end] ?? "500"],
  ["bytes_sent", (f) => String(f.bytesSent)],
  ["bytes_received", (f) => String(f.bytesReceived)],
  ["session_time", (f) => seconds(Math.max(0, f.endedAt - f.startedAt))],
  ["connection", (f) => String(f.connection)],
  ["time_local", (f) => cachedTimeLocal(f.endedAt)],
  ["time_iso8601", (f) => cachedTimeIso(f.endedAt)],
  ["msec", (f) => seconds(f.endedAt)],
  ["pid", () => String(Deno.pid)],
  ["hostname", machineName],
  ["echo_end", (f) => f.end],
]);

/** Every variable the access log knows, without the `$`. */
export const LOG_VARIABLES: readonly string[] = [...GETTERS.keys()];

/**
 * The getter of variable `name` (without `$`), or undefined when there is no such variable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { variableGetter } from "./variables.ts";
 * const facts = {
 *   connection: 7, end: "timeout", bytesReceived: 3, bytesSent: 5, startedAt: 1000, endedAt: 1012,
 *   remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 5000 } as const,
 *   localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1234 } as const,
 * };
 * assert.equal(variableGetter("status")!(facts), "400");
 * assert.equal(variableGetter("session_time")!(facts), "0.012");
 * assert.equal(variableGetter("nope"), undefined);
 * ```
 */
export function variableGetter(name: string): VariableGetter | undefined {
  return GETTERS.get(name);
}
