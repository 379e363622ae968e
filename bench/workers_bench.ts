/**
 * 1 vs 2 workers (`worker_processes`): connections per second, server CPU per connection (all
 * threads of the process, from /proc/PID/stat) and how the accepts spread over the workers (the
 * server's own `workers accepted ...` line at exit), for a one-line reply under 64 concurrent
 * clients. The load client is the engine bench's (bench/load.c, compiled here with `cc -O2`).
 * Rounds alternate 1 and 2 workers, so both see the same noise; the report gives medians and
 * the 2-worker/1-worker ratios, beside the same ratios of the bare Deno peer with 1 and 2
 * threads (bench/bare_deno_threads.ts: each thread listens with reusePort).
 *
 *     deno task bench workers
 *     deno run -A bench/workers_bench.ts [--duration 3] [--warmup 1] [--rounds 3] [--concurrency 64]
 *
 * Loopback only, bounded (about rounds x 2 x (warm-up + duration) seconds), stops by itself.
 * Nothing is pinned: two workers need two CPUs, and the client shares them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BINARY_PERMISSIONS } from "../tests/binary_permissions.ts";
import { median } from "./util.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "64" },
  },
});
const DURATION = Number(flags.duration);
const WARMUP = Number(flags.warmup);
const ROUNDS = Number(flags.rounds);
const CONC = Number(flags.concurrency);
const REPLY = "Hello, world!";
const CLK_TCK = 100;
const root = new URL("../", import.meta.url).pathname;
const dir = Deno.makeTempDirSync({ prefix: "se_workers_bench_" });
const loadPath = `${dir}/load`;

/** CPU seconds (user + system) of a process, all its threads included. */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** CPU ticks of each thread of `pid`, by "TID name" (the JS threads are "deno" and "worker-N"). */
function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/stat`);
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(`${t.name} ${name}`, Number(f[11]) + Number(f[12]));
    } catch { /* gone */ }
  }
  return out;
}

async function load(args: string[]): Promise<Record<string, number>> {
  const out = await new Deno.Command(loadPath, { args, stderr: "inherit" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  try {
    return JSON.parse(text.split("\n").pop()!);
  } catch {
    throw new Error(`load client: ${text || `exit ${out.code}`}`);
  }
}

interface Result {
  workers: number;
  perSecond: number;
  cpuUs: number;
  p99Ms: number;
  errors: number;
  accepted: number[];
  /** CPU seconds of the JS threads (main first, then worker-N) over the measured run. */
  threads: number[];
}

/** Loads the bare Deno peer with `n` threads (bench/bare_deno_threads.ts). */
async function runBare(n: number): Promise<Result> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--unstable-net",
      `${root}bench/bare_deno_threads.ts`,
      String(port),
      String(n),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    const deadline = performance.now() + 20_000;
    for (;;) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch {
        if (performance.now() > deadline) throw new Error("bare Deno did not start");
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await new Promise((r) => setTimeout(r, 300)); // the worker threads join the port
    const base = [String(port), String(CONC)];
    if (WARMUP > 0) await load(["reply", ...base, String(WARMUP), String(REPLY.length + 1)]);
    const cpu0 = cpuSeconds(child.pid);
    const r = await load(["reply", ...base, String(DURATION), String(REPLY.length + 1)]);
    const cpu = cpuSeconds(child.pid) - cpu0;
    return {
      workers: n,
      perSecond: r.conns / r.seconds,
      cpuUs: r.conns > 0 ? cpu / r.conns * 1e6 : NaN,
      p99Ms: r.p99_us / 1000,
      errors: r.errors,
      accepted: [],
      threads: [],
    };
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
  }
}

/** Starts stream-echo with `n` workers, loads it, stops it gracefully, reads its accept line. */
async function run(n: number): Promise<Result> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const log = `${dir}/w${n}_${port}.log`;
  const conf = `${dir}/w${n}_${port}.conf`;
  Deno.writeTextFileSync(
    conf,
    `worker_processes ${n};\nerror_log ${log} notice;\nevents { worker_connections 16384; }\n` +
      `stream { server { listen 127.0.0.1:${port} backlog=4096; echo "${REPLY}"; } }\n`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...BINARY_PERMISSIONS, `${root}cli.ts`, "serve", "-c", conf],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const read = () => {
    try {
      return Deno.readTextFileSync(log);
    } catch {
      return "";
    }
  };
  try {
    const deadline = performance.now() + 20_000;
    while (!/stream-echo started/.test(read())) {
      if (performance.now() > deadline) throw new Error(`${n} workers: no start: ${read()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const started = /\((pid \d+(?:, (\d+) workers)?)\)/.exec(read());
    const serving = Number(started?.[2] ?? 1);
    if (serving !== n) throw new Error(`asked for ${n} workers, ${serving} serve: ${read()}`);
    const base = [String(port), String(CONC)];
    if (WARMUP > 0) await load(["reply", ...base, String(WARMUP), String(REPLY.length + 1)]);
    const cpu0 = cpuSeconds(child.pid);
    const t0 = threadTicks(child.pid);
    const r = await load(["reply", ...base, String(DURATION), String(REPLY.length + 1)]);
    const cpu = cpuSeconds(child.pid) - cpu0;
    const t1 = threadTicks(child.pid);
    // The main thread (its TID is the PID), then the worker threads Deno names worker-N.
    const js = [...t1.keys()].filter((k) => k.startsWith(`${child.pid} `) || / worker-\d+$/.test(k))
      .sort((a, b) => Number(a.split(" ")[0]) - Number(b.split(" ")[0]));
    const threads = js.map((k) => (t1.get(k)! - (t0.get(k) ?? 0)) / CLK_TCK);
    child.kill("SIGQUIT");
    await child.status;
    const line = /workers accepted (.*) connections/.exec(read());
    const accepted = line
      ? [...line[1].matchAll(/(\d+) \(worker \d+\)/g)].map((m) => Number(m[1]))
      : [NaN];
    return {
      workers: n,
      perSecond: r.conns / r.seconds,
      cpuUs: r.conns > 0 ? cpu / r.conns * 1e6 : NaN,
      p99Ms: r.p99_us / 1000,
      errors: r.errors,
      accepted,
      threads,
    };
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
  }
}

const f = (x: number, d = 1) => Number.isFinite(x) ? x.toFixed(d) : "—";

try {
  if (Deno.build.os !== "linux") {
    console.log("workers bench: reusePort spreads connections only on Linux; nothing measured");
    Deno.exit(0);
  }
  const cc = await new Deno.Command("cc", {
    args: ["-O2", "-o", loadPath, `${root}bench/load.c`],
    stderr: "inherit",
  }).output();
  if (!cc.success) throw new Error("cc could not compile bench/load.c");
  console.log(
    `workers bench ${new Date().toISOString()}: one-line reply, ${CONC} clients, ${ROUNDS} ` +
      `rounds of ${WARMUP}s warm-up + ${DURATION}s per worker count, ${navigator.hardwareConcurrency} ` +
      `CPUs, load average ${Deno.loadavg()[0].toFixed(2)}`,
  );
  const results: Record<number, Result[]> = { 1: [], 2: [] };
  const bare: Record<number, Result[]> = { 1: [], 2: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of [1, 2]) {
      const b = await runBare(n);
      bare[n].push(b);
      console.log(
        `  round ${round + 1}, bare Deno, ${n} thread${n > 1 ? "s" : " "}: ${
          f(b.perSecond, 0).padStart(7)
        } conn/s ${f(b.cpuUs).padStart(6)} us CPU/conn  p99 ${f(b.p99Ms, 2)} ms`,
      );
      const r = await run(n);
      results[n].push(r);
      console.log(
        `  round ${round + 1}, ${n} worker${n > 1 ? "s" : " "}: ${
          f(r.perSecond, 0).padStart(7)
        } conn/s ` +
          `${f(r.cpuUs).padStart(6)} us CPU/conn  p99 ${f(r.p99Ms, 2)} ms  errors ${r.errors}  ` +
          (n > 1 ? `accepted ${r.accepted.join(" + ")}` : "one worker accepts all") +
          `; JS threads' CPU ${r.threads.map((c) => `${f(c, 2)} s`).join(" + ")}`,
      );
    }
  }
  const bareMed = (n: number, k: "perSecond" | "cpuUs") => median(bare[n].map((r) => r[k]));
  const med = (n: number, k: "perSecond" | "cpuUs" | "p99Ms") =>
    median(results[n].map((r) => r[k]));
  const share = median(
    results[2].map((r) => Math.min(...r.accepted) / (r.accepted[0] + r.accepted[1])),
  );
  console.log("\n  medians       conn/s   us CPU/conn   p99 ms");
  for (const n of [1, 2]) {
    console.log(
      `  ${n} worker${n > 1 ? "s" : " "}   ${f(med(n, "perSecond"), 0).padStart(8)}   ` +
        `${f(med(n, "cpuUs")).padStart(11)}   ${f(med(n, "p99Ms"), 2).padStart(6)}`,
    );
  }
  console.log(
    `  2 workers / 1: conn/s x${f(med(2, "perSecond") / med(1, "perSecond"), 2)}, ` +
      `CPU per connection x${f(med(2, "cpuUs") / med(1, "cpuUs"), 2)}; ` +
      `the less busy worker took ${f(share * 100, 0)}% of the accepts (50% is an even spread)`,
  );
  console.log(
    `  bare Deno, 2 threads / 1: conn/s x${
      f(bareMed(2, "perSecond") / bareMed(1, "perSecond"), 2)
    }, CPU per connection x${f(bareMed(2, "cpuUs") / bareMed(1, "cpuUs"), 2)} ` +
      `(the runtime's own cost of a second event loop on this machine)`,
  );
} finally {
  Deno.removeSync(dir, { recursive: true });
}
