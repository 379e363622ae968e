/**
 * The `listen` directive: `PORT`, `ADDR:PORT`, `*:PORT`, `[IPv6]:PORT`, `HOST:PORT` (with
 * `localhost` meaning 127.0.0.1) or `unix:/path`, then parameters `ssl`, `backlog=N`,
 * `reuseport`, `so_keepalive=on|off|IDLE:INTVL:CNT`. nginx parameters that change nothing
 * here (`bind`, `deferred`, `fastopen=`, `ipv6only=`, `rcvbuf=`, `sndbuf=`, `setfib=`) are
 * accepted with a notice; `udp` and `proxy_protocol` are errors (they would change what a
 * client sees).
 *
 * @module
 */

import { binaryToText, showToken } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import { MAX_BACKLOG } from "./limits.ts";
import { parseInteger } from "./units.ts";
import type { Listen, Position } from "./types.ts";

/** A parsed `listen` line and the notices it produced. */
export interface ParsedListen {
  /** The listener as plain data. */
  listen: Listen;
  /** Notices about parameters accepted without effect. */
  notices: string[];
}

const IGNORED_FLAGS = new Set(["bind", "deferred"]);
const IGNORED_PREFIXES = [
  "fastopen=",
  "ipv6only=",
  "rcvbuf=",
  "sndbuf=",
  "setfib=",
  "accept_filter=",
];
const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/;
const IPV6 = /^[0-9a-f:.]+(%[a-z0-9_.-]+)?$/;

function parsePort(text: string, address: string, pos: Position): number {
  const port = parseInteger(text);
  if (port === null || port > 65535) {
    throw new ConfigError(`invalid port in "${showToken(address)}" of the "listen" directive`, pos);
  }
  return port;
}

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

function isIPv4(text: string): boolean {
  return IPV4.test(text) && text.split(".").every((p) => Number(p) <= 255);
}

function parseHost(text: string, address: string, pos: Position): string {
  if (text === "*") return "0.0.0.0";
  const host = text.toLowerCase();
  if (host === "localhost") return "127.0.0.1";
  if (isIPv4(host)) return host;
  if (/^[0-9.]+$/.test(host) || !HOSTNAME.test(host)) {
    throw new ConfigError(`invalid host in "${showToken(address)}" of the "listen" directive`, pos);
  }
  return host;
}

function parseAddress(address: string, pos: Position): { hostname: string; port: number } {
  if (address.startsWith("[")) {
    const close = address.indexOf("]");
    const host = close < 0 ? "" : address.slice(1, close).toLowerCase();
    if (close < 0 || !IPV6.test(host) || !host.includes(":")) {
      throw new ConfigError(
        `invalid IPv6 address in "${showToken(address)}" of the "listen" directive`,
        pos,
      );
    }
    const rest = address.slice(close + 1);
    if (rest === "") {
      throw new ConfigError(`no port in "${showToken(address)}" of the "listen" directive`, pos);
    }
    if (rest[0] !== ":") {
      throw new ConfigError(
        `invalid port in "${showToken(address)}" of the "listen" directive`,
        pos,
      );
    }
    return { hostname: host, port: parsePort(rest.slice(1), address, pos) };
  }
  const colon = address.lastIndexOf(":");
  if (colon < 0) {
    if (/^[-+]?[0-9]+$/.test(address)) {
      return { hostname: "0.0.0.0", port: parsePort(address, address, pos) };
    }
    throw new ConfigError(`no port in "${showToken(address)}" of the "listen" directive`, pos);
  }
  const hostname = parseHost(address.slice(0, colon), address, pos);
  return { hostname, port: parsePort(address.slice(colon + 1), address, pos) };
}

function keepAliveValue(value: string, pos: Position, notices: string[]): boolean {
  if (value === "on") return true;
  if (value === "off") return false;
  if (/^[0-9smhd]*:[0-9smhd]*:[0-9]*$/.test(value) && value !== "::") {
    notices.push(
      `"listen" parameter "so_keepalive=${showToken(value)}": keepalive timings are not applied, ` +
        "only keepalive itself is turned on",
    );
    return true;
  }
  throw new ConfigError(`invalid so_keepalive value: "${showToken(value)}"`, pos);
}

/**
 * Parses the arguments of one `listen` directive (at least one argument).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseListen } from "./listen.ts";
 * const { listen } = parseListen(["127.0.0.1:1234", "ssl"], { file: "se.conf", line: 3 });
 * assert.ok(listen.kind === "tcp" && listen.port === 1234 && listen.ssl);
 * ```
 */
export function parseListen(args: readonly string[], pos: Position): ParsedListen {
  const address = args[0];
  const notices: string[] = [];
  let ssl = false;
  let backlog: number | undefined;
  let reusePort = false;
  let keepAlive: boolean | undefined;

  for (const param of args.slice(1)) {
    if (param === "ssl") {
      ssl = true;
    } else if (param === "reuseport") {
      reusePort = true;
    } else if (param.startsWith("backlog=")) {
      const n = parseInteger(param.slice(8));
      if (n === null || n === 0) {
        throw new ConfigError(`invalid backlog "${showToken(param)}"`, pos);
      }
      if (n > MAX_BACKLOG) {
        throw new ConfigError(
          `invalid backlog "${showToken(param)}": must be at most ${MAX_BACKLOG}`,
          pos,
        );
      }
      backlog = n;
    } else if (param.startsWith("so_keepalive=")) {
      keepAlive = keepAliveValue(param.slice(13), pos, notices);
    } else if (IGNORED_FLAGS.has(param) || IGNORED_PREFIXES.some((p) => param.startsWith(p))) {
      notices.push(
        `"listen" parameter "${showToken(param)}" is accepted but has no effect in stream-echo`,
      );
    } else if (param === "udp" || param === "proxy_protocol") {
      throw new ConfigError(
        `the "${
          showToken(param)
        }" parameter of the "listen" directive is not supported by stream-echo`,
        pos,
      );
    } else {
      throw new ConfigError(`the invalid "${showToken(param)}" parameter`, pos);
    }
  }

  if (address.startsWith("unix:")) {
    const path = binaryToText(address.slice(5));
    if (path === "") {
      throw new ConfigError(
        `no path in the unix domain socket in "${showToken(address)}" of the "listen" directive`,
        pos,
      );
    }
    if (reusePort || keepAlive !== undefined) {
      notices.push(`"reuseport" and "so_keepalive" have no effect on "${showToken(address)}"`);
    }
    const listen: Listen = { kind: "unix", address: binaryToText(address), path, ssl, pos };
    if (backlog !== undefined) listen.backlog = backlog;
    return { listen, notices };
  }

  const { hostname, port } = parseAddress(address, pos);
  const listen: Listen = {
    kind: "tcp",
    address: binaryToText(address),
    hostname,
    port,
    ssl,
    reusePort,
    pos,
  };
  if (backlog !== undefined) listen.backlog = backlog;
  if (keepAlive !== undefined) listen.keepAlive = keepAlive;
  return { listen, notices };
}

/**
 * The key two listeners clash on: `HOST:PORT` (IPv6 in brackets) or `unix:PATH`; `null` for
 * port 0, which asks the system for a fresh port every time and so never clashes.
 */
export function listenKey(listen: Listen): string | null {
  if (listen.kind === "unix") return `unix:${listen.path}`;
  if (listen.port === 0) return null;
  const host = listen.hostname.includes(":") ? `[${listen.hostname}]` : listen.hostname;
  return `${host}:${listen.port}`;
}
