/**
 * Run by tests/mod_retention_test.ts (needs `--v8-flags=--expose-gc`): serves WARM sessions,
 * collects garbage, serves N more, collects again, and prints the heap growth per session as
 * JSON. MODE `off` is `record: false`; `capped` records with `maxTranscripts: 50`.
 *
 *     deno run -A --v8-flags=--expose-gc tests/heap_probe.ts MODE [WARM] [N]
 */
import { serve } from "../mod.ts";
const [mode, warm, n] = [Deno.args[0], Number(Deno.args[1] ?? 2000), Number(Deno.args[2] ?? 3000)];
const options = mode === "off" ? { record: false } : { maxTranscripts: 50 };
let total = warm;
await using server = await serve({ server: "echo hi;", ...options });
const port = server.addrs[0].port;
async function run(count: number) {
  let left = count;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (left-- > 0) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      await new Response(c.readable).arrayBuffer();
    }
  }));
  while (server.endedSessions < total) await new Promise((r) => setTimeout(r, 2));
}
await run(warm);
const gc = (globalThis as unknown as { gc(): void }).gc;
gc();
gc();
const before = Deno.memoryUsage().heapUsed;
total += n;
await run(n);
gc();
gc();
const after = Deno.memoryUsage().heapUsed;
console.log(JSON.stringify({
  perSession: (after - before) / n,
  held: server.transcripts().length,
  dropped: server.droppedTranscripts,
}));
