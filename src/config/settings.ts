/**
 * The `echo_*` settings (stream and server level): their defaults, how each value is read,
 * and how a server's effective settings are merged from its own, the stream level's and the
 * defaults.
 *
 * @module
 */

import { showToken } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import type { Directive } from "./parser.ts";
import type { Scope } from "./scope.ts";
import type { ClientErrorLogLevel, EchoSettings, LingeringClose, MismatchAction } from "./types.ts";
import { atMost, MAX_POSTPONE_OUTPUT, MAX_READ_BUFFER_SIZE, sizeText } from "./limits.ts";
import { MAX_TIMER_MS, parseInteger, parseSize, parseTime } from "./units.ts";

/** The module's defaults (its `merge_srv_conf`). */
export const DEFAULT_ECHO_SETTINGS: Readonly<EchoSettings> = Object.freeze({
  readTimeout: 60_000,
  sendTimeout: 60_000,
  readBufferSize: 1024,
  clientErrorLogLevel: "info",
  lingeringClose: "on",
  lingeringTime: 30_000,
  lingeringTimeout: 5_000,
});

/** A server's effective settings: its own, else the stream level's, else the defaults. */
export function mergeSettings(
  stream: Partial<EchoSettings>,
  server: Partial<EchoSettings>,
): EchoSettings {
  return { ...DEFAULT_ECHO_SETTINGS, ...stream, ...server };
}

/** Reads a time value for directive `d` (milliseconds, below 597 hours). */
export function timeValue(d: Directive): number {
  const ms = parseTime(d.args[0]);
  if (ms === null) {
    throw new ConfigError(`"${d.name}" directive invalid value "${showToken(d.args[0])}"`, d.pos);
  }
  if (ms > MAX_TIMER_MS) {
    throw new ConfigError(
      `"${d.name}" directive invalid value "${showToken(d.args[0])}": must be less than 597 hours`,
      d.pos,
    );
  }
  return ms;
}

function sizeValue(d: Directive): number {
  const size = parseSize(d.args[0]);
  if (size === null) {
    throw new ConfigError(`"${d.name}" directive invalid value "${showToken(d.args[0])}"`, d.pos);
  }
  return size;
}

/** Reads one of `choices` (case-insensitive, as nginx's enum slot), returned in lower case. */
export function enumValue<T extends string>(d: Directive, choices: readonly T[]): T {
  const value = d.args[0].toLowerCase() as T;
  if (choices.includes(value)) return value;
  const list = choices.map((c) => `"${c}"`);
  const last = list.pop();
  throw new ConfigError(
    `invalid value "${showToken(d.args[0])}" in "${d.name}" directive, it must be ${
      list.join(", ")
    } or ${last}`,
    d.pos,
  );
}

const LOG_LEVELS: readonly ClientErrorLogLevel[] = ["info", "notice", "warn", "error"];
const LINGERING: readonly LingeringClose[] = ["off", "on", "always"];
const MISMATCH: readonly MismatchAction[] = ["close", "reset", "continue"];

type SettingReader = {
  [K in keyof EchoSettings]-?: (d: Directive) => Required<EchoSettings>[K];
};

const READERS: SettingReader = {
  readTimeout: timeValue,
  sendTimeout: timeValue,
  readBufferSize: (d) => {
    const size = sizeValue(d);
    if (size === 0) {
      throw new ConfigError(`"${d.name}" directive invalid value "0": must be at least 1`, d.pos);
    }
    atMost(d, size, MAX_READ_BUFFER_SIZE, sizeText(MAX_READ_BUFFER_SIZE));
    return size;
  },
  clientErrorLogLevel: (d) => enumValue(d, LOG_LEVELS),
  lingeringClose: (d) => enumValue(d, LINGERING),
  lingeringTime: timeValue,
  lingeringTimeout: timeValue,
  mismatchAction: (d) => enumValue(d, MISMATCH),
  postponeOutput: (d) => {
    const size = sizeValue(d);
    atMost(d, size, MAX_POSTPONE_OUTPUT, sizeText(MAX_POSTPONE_OUTPUT));
    return size;
  },
  randomSeed: (d) => {
    const seed = parseInteger(d.args[0]);
    if (seed === null) {
      throw new ConfigError(
        `"${d.name}" directive invalid value "${showToken(d.args[0])}": must be a whole number`,
        d.pos,
      );
    }
    return seed;
  },
};

/**
 * Builds the compile function of one setting directive: reads the value and stores it in
 * the server's settings, or the stream level's; setting it twice in a block is an error.
 */
export function setting(key: keyof EchoSettings): (d: Directive, scope: Scope) => void {
  return (d, scope) => {
    const block = scope.server ?? scope.stream;
    if (block === undefined) return;
    if (block.set.has(d.name)) {
      throw new ConfigError(`"${d.name}" directive is duplicate`, d.pos);
    }
    block.set.set(d.name, d.pos);
    (block.settings as Record<string, unknown>)[key] = READERS[key](d);
  };
}
