/**
 * What loops and branches cost: the same request/response exchange (a line in, the line back)
 * run by a linear script and by `echo_loop` / `echo_match` scripts, measured in the same run.
 *
 * - in memory: one session over in-memory streams answering K pipelined requests; CPU ns per
 *   request (the process's user + system time: the engine's own cost, no socket, and less
 *   sensitive than wall time to the other work on a shared machine);
 * - over loopback TCP: C clients, each doing K request/response round trips per connection
 *   against the library server (record: false), all in this process: CPU ns per request
 *   (server and clients together) and requests per second (wall time, the noisiest figure).
 *
 *     deno run -A bench/conversation_bench.ts [--requests 100] [--concurrency 8] [--duration 1]
 *         [--rounds 5]
 *
 * Rows are measured in interleaved rounds (every variant once per round, DURATION each) and the
 * median of the rounds is printed, so drift of the shared machine hits every row alike.
 * Ratios against the linear script are the figures that matter: this machine is shared and
 * noisy. Loopback only, bounded (each phase stops itself), ports chosen by binding port 0.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { parseConfig } from "../src/config/loader.ts";
import { runSession } from "../src/engine/session.ts";
import { quietLogger } from "../src/log/logger.ts";
import { serve } from "../mod.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    requests: { type: "string", default: "100" },
    concurrency: { type: "string", default: "8" },
    duration: { type: "string", default: "1" },
    rounds: { type: "string", default: "5" },
  },
});
const ROUNDS = Math.min(Math.max(Number(flags.rounds), 1), 20);
const K = Math.min(Math.max(Number(flags.requests), 1), 900);
const C = Math.min(Math.max(Number(flags.concurrency), 1), 64);
const DURATION_MS = Math.min(Number(flags.duration), 30) * 1000;

const settings = "echo_lingering_close off; echo_read_buffer_size 64k;";
const VARIANTS: [string, string][] = [
  ["linear (K x read+reply)", "echo_read_line; echo_request_data; ".repeat(K)],
  ["echo_loop K", `echo_loop ${K} { echo_read_line; echo_request_data; }`],
  ["echo_loop (until EOF)", "echo_loop { echo_read_line; echo_request_data; }"],
  [
    "echo_loop + echo_match (4 branches, last hits)",
    `echo_loop { echo_read_line; echo_match { when = "a\\n" { echo a; } when ^~ "b" { echo b; }
       when ~ "^c+$" { echo c; } default { echo_request_data; } } echo_clear_request_data; }`,
  ],
];

const enc = new TextEncoder();
const request = "ping 0123456789\n";
const requests = enc.encode(request.repeat(K));

function stepsOf(body: string) {
  const config = parseConfig(`stream { server { listen 127.0.0.1:0; ${settings} ${body} } }`);
  return { steps: config.servers[0].steps, settings: config.servers[0].settings };
}

async function memoryRound(script: ReturnType<typeof stepsOf>): Promise<number> {
  let bytes = 0;
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(requests.slice());
      c.close();
    },
  });
  const writable = new WritableStream<Uint8Array>({ write: (c) => void (bytes += c.byteLength) });
  await runSession(script, { readable, writable, close() {} }, { logger: quietLogger });
  return bytes;
}

async function inMemory(body: string): Promise<number> {
  const script = stepsOf(body);
  const want = requests.length;
  let sessions = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - t0 < DURATION_MS) {
    const got = await memoryRound(script);
    if (got !== want) throw new Error(`${body}: got ${got} bytes, want ${want}`);
    sessions++;
  }
  const cpu = process.cpuUsage(cpu0);
  return ((cpu.user + cpu.system) * 1e3) / (sessions * K);
}

async function client(port: number, until: number): Promise<number> {
  const line = enc.encode(request);
  const buf = new Uint8Array(4096);
  let done = 0;
  while (performance.now() < until) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    for (let i = 0; i < K; i++) {
      await conn.write(line);
      let got = 0;
      while (got < line.length) {
        const n = await conn.read(buf);
        if (n === null) throw new Error("closed early");
        got += n;
      }
      done++;
    }
    conn.close();
  }
  return done;
}

/** Requests per second (wall) and CPU ns per request (server and clients, one process). */
async function overTcp(body: string): Promise<[number, number]> {
  await using server = await serve({ server: `${settings} ${body}`, record: false });
  const port = server.addrs[0].port;
  await Promise.all(Array.from({ length: C }, () => client(port, performance.now() + 300)));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const counts = await Promise.all(
    Array.from({ length: C }, () => client(port, t0 + DURATION_MS)),
  );
  const cpu = process.cpuUsage(cpu0);
  const total = counts.reduce((a, b) => a + b, 0);
  return [total / ((performance.now() - t0) / 1000), ((cpu.user + cpu.system) * 1e3) / total];
}

console.log(
  `K=${K} requests per connection, C=${C} TCP clients, median of ${ROUNDS} interleaved ` +
    `rounds of ${DURATION_MS / 1000}s per row\n`,
);
const mem: number[][] = VARIANTS.map(() => []);
const tcp: number[][] = VARIANTS.map(() => []);
const tcpCpu: number[][] = VARIANTS.map(() => []);
for (const [, body] of VARIANTS) {
  for (let w = 0; w < 200; w++) await memoryRound(stepsOf(body)); // warm-up
}
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, [, body]] of VARIANTS.entries()) {
    mem[i].push(await inMemory(body));
    const [rate, cpu] = await overTcp(body);
    tcp[i].push(rate);
    tcpCpu[i].push(cpu);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ratio = (x: number, base: number) => (x / base).toFixed(2);
console.log(
  "| script | in memory: CPU ns/req | ratio | TCP: CPU ns/req | ratio | TCP: req/s | ratio |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|");
const [m0, c0, t0] = [median(mem[0]), median(tcpCpu[0]), median(tcp[0])];
for (const [i, [name]] of VARIANTS.entries()) {
  const [m, c, t] = [median(mem[i]), median(tcpCpu[i]), median(tcp[i])];
  console.log(
    `| ${name} | ${m.toFixed(0)} | ${ratio(m, m0)} | ${c.toFixed(0)} | ${ratio(c, c0)} | ` +
      `${t.toFixed(0)} | ${ratio(t, t0)} |`,
  );
}
