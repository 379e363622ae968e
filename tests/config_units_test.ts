import assert from "node:assert/strict";
import {
  MAX_TIMER_MS,
  parseCount,
  parseDelay,
  parseInteger,
  parseSize,
  parseTime,
} from "../src/config/units.ts";

const sizeCases: [string, number | null][] = [
  ["512", 512],
  ["4k", 4096],
  ["4K", 4096],
  ["1m", 1_048_576],
  ["1M", 1_048_576],
  ["1g", 1_073_741_824],
  ["2G", 2_147_483_648],
  ["0", 0],
  ["k", null],
  ["", null],
  ["1.5k", null],
  ["-1", null],
  ["1kb", null],
  ["99999999999999999999", null],
];
for (const [input, want] of sizeCases) {
  Deno.test(`parseSize(${JSON.stringify(input)}) is ${want}`, () =>
    assert.equal(parseSize(input), want));
}

const timeCases: [string, number | null][] = [
  ["5", 5000],
  ["0", 0],
  ["500ms", 500],
  ["10s", 10_000],
  ["2m", 120_000],
  ["1m30s", 90_000],
  ["1h 5m", 3_900_000],
  ["1d", 86_400_000],
  ["1w", 604_800_000],
  ["1M", 2_592_000_000],
  ["1y", 31_536_000_000],
  ["1s500ms", 1500],
  ["596h", 2_145_600_000],
  ["30s1m", null],
  ["1s1s", null],
  ["1m30", null],
  ["s", null],
  ["1x", null],
  ["1.5s", null],
  ["", null],
  ["-1s", null],
];
for (const [input, want] of timeCases) {
  Deno.test(`parseTime(${JSON.stringify(input)}) is ${want}`, () =>
    assert.equal(parseTime(input), want));
}

Deno.test("MAX_TIMER_MS is just under 597 hours", () => {
  assert.ok(MAX_TIMER_MS < 597 * 3600_000);
  assert.ok(MAX_TIMER_MS > 596 * 3600_000);
});

const delayCases: [string, number | null, boolean?][] = [
  ["1", 1000],
  ["3.1", 3100],
  ["1.234", 1234],
  ["0.001", 1],
  [".5", 500],
  ["2.", 2000],
  ["1.2345", 1234, true],
  ["0", 0],
  ["a", null],
  ["", null],
  [".", null],
  ["1.2.3", null],
  ["1e3", null],
  ["-1", null],
];
for (const [input, ms, truncated = false] of delayCases) {
  Deno.test(`parseDelay(${JSON.stringify(input)}) is ${ms}${truncated ? " (truncated)" : ""}`, () => {
    const got = parseDelay(input);
    assert.deepEqual(got, ms === null ? null : { ms, truncated });
  });
}

const countCases: [string, number | null][] = [
  ["3", 3],
  ["0", 0],
  ["2_000", 2000],
  ["1000_000_000", 1_000_000_000],
  ["_", 0],
  ["1_", 1],
  ["bc", null],
  ["", null],
  ["-1", null],
  ["1.0", null],
  ["9007199254740993", null],
];
for (const [input, want] of countCases) {
  Deno.test(`parseCount(${JSON.stringify(input)}) is ${want}`, () =>
    assert.equal(parseCount(input), want));
}

const intCases: [string, number | null][] = [["0", 0], ["42", 42], ["", null], ["+1", null], [
  "4k",
  null,
]];
for (const [input, want] of intCases) {
  Deno.test(`parseInteger(${JSON.stringify(input)}) is ${want}`, () =>
    assert.equal(parseInteger(input), want));
}
