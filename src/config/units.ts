/**
 * Value parsers for config arguments, nginx's rules: sizes (`ngx_parse_size`), times
 * (`ngx_parse_time` for milliseconds), `echo_sleep` delays (`ngx_atofp` with three decimals),
 * `echo_duplicate` counts (digits with `_`), plain numbers (`ngx_atoi`). Each returns `null`
 * for a bad value so that the caller words the error.
 *
 * @module
 */

/**
 * The longest timer the runtime can arm (2^31 - 1 ms, about 596.5 hours); nginx documents
 * "less than 597 hours". Longer times and sleeps are rejected at load time.
 */
export const MAX_TIMER_MS = 2_147_483_647;

const SIZE_SCALE: Record<string, number> = {
  k: 1024,
  K: 1024,
  m: 1024 * 1024,
  M: 1024 * 1024,
  g: 1024 * 1024 * 1024,
  G: 1024 * 1024 * 1024,
};

function digitsValue(text: string, start: number, end: number): number | null {
  if (end <= start) return null;
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return null;
    value = value * 10 + d;
  }
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * A size in bytes: digits with an optional `k`, `m` or `g` suffix (either case).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSize } from "./units.ts";
 * assert.ok(parseSize("4k") === 4096 && parseSize("4x") === null);
 * ```
 */
export function parseSize(text: string): number | null {
  const scale = SIZE_SCALE[text[text.length - 1]] ?? 1;
  const value = digitsValue(text, 0, scale === 1 ? text.length : text.length - 1);
  if (value === null) return null;
  const bytes = value * scale;
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** A non-negative decimal integer (digits only, no sign), as nginx's `ngx_atoi`. */
export function parseInteger(text: string): number | null {
  return digitsValue(text, 0, text.length);
}

const TIME_UNITS: Record<string, { rank: number; ms: number }> = {
  y: { rank: 0, ms: 365 * 24 * 3600_000 },
  M: { rank: 1, ms: 30 * 24 * 3600_000 },
  w: { rank: 2, ms: 7 * 24 * 3600_000 },
  d: { rank: 3, ms: 24 * 3600_000 },
  h: { rank: 4, ms: 3600_000 },
  m: { rank: 5, ms: 60_000 },
  s: { rank: 6, ms: 1000 },
  ms: { rank: 7, ms: 1 },
};

/**
 * A time in milliseconds, nginx style: a bare number means seconds; otherwise numbers with
 * units `y M w d h m s ms` from largest to smallest, each unit at most once, optionally
 * separated by spaces (`1m30s`, `1h 5m`, `500ms`). No upper bound here: see
 * {@link MAX_TIMER_MS}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTime } from "./units.ts";
 * assert.ok(parseTime("1m30s") === 90_000 && parseTime("5") === 5000);
 * ```
 */
export function parseTime(text: string): number | null {
  const n = text.length;
  let i = 0;
  let total = 0;
  let lastRank = -1;
  let sawUnit = false;
  while (i < n) {
    const start = i;
    while (i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    const value = digitsValue(text, start, i);
    if (value === null) return null;
    if (i === n) {
      // a trailing bare number: seconds, only when it is the whole value
      if (sawUnit) return null;
      total = value * 1000;
      break;
    }
    let unit = text[i];
    if (unit === "m" && text[i + 1] === "s") unit = "ms";
    const spec = TIME_UNITS[unit];
    if (spec === undefined || spec.rank <= lastRank) return null;
    i += unit.length;
    lastRank = spec.rank;
    sawUnit = true;
    total += value * spec.ms;
    while (i < n && text[i] === " ") i++;
  }
  if (n === 0 || !Number.isSafeInteger(total)) return null;
  return total;
}

/** A parsed `echo_sleep` delay. */
export interface Delay {
  /** The delay in milliseconds. */
  ms: number;
  /** True when decimals past the third were dropped (as the module does). */
  truncated: boolean;
}

/**
 * An `echo_sleep` delay: seconds with up to three decimals, as the module's `ngx_atofp(.., 3)`
 * (further decimals are dropped, which the caller may mention). At least one digit is needed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDelay } from "./units.ts";
 * assert.ok(parseDelay("1.5")?.ms === 1500 && parseDelay("a") === null);
 * ```
 */
export function parseDelay(text: string): Delay | null {
  const dot = text.indexOf(".");
  const whole = dot < 0 ? text : text.slice(0, dot);
  const frac = dot < 0 ? "" : text.slice(dot + 1);
  if (whole.length + frac.length === 0) return null;
  const w = whole.length === 0 ? 0 : digitsValue(whole, 0, whole.length);
  const f = frac.length === 0 ? 0 : digitsValue(frac, 0, frac.length);
  if (w === null || f === null) return null;
  const kept = (frac + "000").slice(0, 3);
  const ms = w * 1000 + Number(kept);
  if (!Number.isSafeInteger(ms)) return null;
  return { ms, truncated: frac.length > 3 };
}

/**
 * An `echo_duplicate` count: digits with `_` separators anywhere (`1000_000_000`), as the
 * module's own `atosz`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCount } from "./units.ts";
 * assert.ok(parseCount("2_000") === 2000 && parseCount("bc") === null);
 * ```
 */
export function parseCount(text: string): number | null {
  if (text.length === 0) return null;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 95) continue; // "_"
    const d = c - 48;
    if (d < 0 || d > 9) return null;
    value = value * 10 + d;
  }
  return Number.isSafeInteger(value) ? value : null;
}
