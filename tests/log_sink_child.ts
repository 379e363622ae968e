/**
 * Child process for log_sink_test.ts: logs numbered lines to stderr through a LogSink as fast as
 * it can for `ms` milliseconds while its parent does not read the pipe, measuring how late a
 * 10 ms timer fires meanwhile; prints the result as JSON on stdout, then flushes and exits.
 *
 * Usage: deno run log_sink_child.ts MS MAX_BYTES
 */
import { LogSink } from "../src/log/sink.ts";

const ms = Number(Deno.args[0] ?? 300);
const sink = new LogSink(Deno.stderr, {
  maxBytes: Number(Deno.args[1] ?? 65536),
  dropNotice: (n) => `${n} log lines dropped\n`,
});
let maxDelay = 0;
let last = performance.now();
const ticker = setInterval(() => {
  const now = performance.now();
  maxDelay = Math.max(maxDelay, now - last - 10);
  last = now;
}, 10);
let n = 0;
const started = performance.now();
while (performance.now() - started < ms) {
  for (let i = 0; i < 100; i++) sink.write(`line ${n++} ${"x".repeat(100)}\n`);
  await new Promise((r) => setTimeout(r, 1));
}
clearInterval(ticker);
const report = { maxDelay, total: n, dropped: sink.dropped, buffered: sink.buffered };
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(report) + "\n"));
await sink.flush();
