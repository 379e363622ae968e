/**
 * How long starting and stopping a server through the library API takes, next to a bare
 * `Deno.listen` + `close()` measured in the same run (the floor any TCP mock pays).
 *
 *     deno run -A bench/library_bench.ts [runs]     # default 200 runs per row, 20 warm-up
 *
 * Rows:
 * - serve+close:            serve({ server }) until listening, then close()
 * - Deno.listen+close:      the peer: bind 127.0.0.1:0, close
 * - serve+1 client+close:   as above with one client served and its transcript awaited
 * - Deno.listen+1 client:   the peer: bind, accept one client, write a line, close
 * - 4 MiB reply, record on/off: one client reads a 4 MiB reply from a running server, with
 *   transcripts (1 MiB kept) and without (record: false): what the taps cost
 */
import { serve } from "../mod.ts";

const RUNS = Math.min(Math.max(Number(Deno.args[0] ?? 200), 10), 5000);
const WARMUP = 20;

async function time(run: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await run();
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await run();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

const at = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function readAll(conn: Deno.Conn): Promise<void> {
  await new Response(conn.readable).arrayBuffer();
}

const rows: [string, () => Promise<void>][] = [
  ["serve+close", async () => {
    const server = await serve({ server: "echo hi;" });
    await server.close();
  }],
  ["Deno.listen+close", () => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    l.close();
    return Promise.resolve();
  }],
  ["serve+1 client+close", async () => {
    const server = await serve({ server: "echo hi;" });
    await readAll(await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port }));
    await server.waitForSessions(1);
    await server.close();
  }],
  ["Deno.listen+1 client", async () => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const client = Deno.connect({ hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port });
    const conn = await l.accept();
    await conn.write(new TextEncoder().encode("hi\n"));
    conn.close();
    await readAll(await client);
    l.close();
  }],
];

// What recording costs: one client reads a 4 MiB reply, with and without transcripts (the
// default cap keeps 1 MiB of it). Same server process each time; fewer runs (bigger work).
const BIG = "echo_duplicate 4194304 x;";
const recServer = await serve({ server: BIG });
const plainServer = await serve({ server: BIG, record: false });
async function bigReply(server: typeof recServer): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
  const n = (await new Response(conn.readable).arrayBuffer()).byteLength;
  if (n !== 4194304) throw new Error(`short reply: ${n}`);
}
rows.push(
  ["4 MiB reply, record on", () => bigReply(recServer)],
  ["4 MiB reply, record off", () => bigReply(plainServer)],
);

console.log(`library start/stop, ${RUNS} runs per row after ${WARMUP} warm-up (ms)`);
console.log("row".padEnd(24) + "median".padStart(9) + "p95".padStart(9) + "max".padStart(9));
const medians = new Map<string, number>();
for (const [name, run] of rows) {
  const t = await time(run);
  medians.set(name, at(t, 0.5));
  console.log(
    name.padEnd(24) + at(t, 0.5).toFixed(3).padStart(9) + at(t, 0.95).toFixed(3).padStart(9) +
      t[t.length - 1].toFixed(3).padStart(9),
  );
}
const ratio = (a: string, b: string) => (medians.get(a)! / medians.get(b)!).toFixed(1);
await recServer.close();
await plainServer.close();
console.log(
  `serve+close is ${ratio("serve+close", "Deno.listen+close")}x the bare listen+close median; ` +
    `with one client ${ratio("serve+1 client+close", "Deno.listen+1 client")}x; ` +
    `recording a 4 MiB reply costs ${ratio("4 MiB reply, record on", "4 MiB reply, record off")}x`,
);
