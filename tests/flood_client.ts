/**
 * A connect-and-close flood client, run in its own process by tests/server_flood_test.ts and
 * bench/abuse_bench.ts: `deno run --allow-net tests/flood_client.ts PORT MS` connects to
 * 127.0.0.1:PORT and closes without reading, as fast as it can, for MS milliseconds, then prints
 * how many connections it made.
 */
const [port, ms] = Deno.args.map(Number);
const end = performance.now() + ms;
let n = 0;
while (performance.now() < end) {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    n++;
  } catch { /* refused or reset under load: try again */ }
}
console.log(n);
