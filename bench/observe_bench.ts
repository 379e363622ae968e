/**
 * What seeing sessions costs: the stream-echo CLI (in its own process) serving the same short
 * exchange three ways, and the server's CPU per connection for each:
 *
 * - plain: no access log, no recording (the baseline);
 * - record: `echo_record FILE` (every session's bytes both ways as one JSON line);
 * - access_log: `access_log FILE` in the default format.
 *
 * Each measurement is `--sessions` sessions (default 10,000) after `--warmup` unmeasured ones: a
 * client connects, sends `ping\n`, reads the reply and closes. The load is the engine bench's (issue
 * 9): the server pinned to CPU 0, the C load client (bench/load.c, compiled here with `cc -O2`)
 * pinned to CPU 1 with `--concurrency` connections (default 64), so the server is the busy side
 * and the client never competes with it for a CPU. Without `cc`, `taskset` or a second CPU (or
 * with `--client deno`) the clients are Deno tasks in this process, unpinned (default 16): that
 * load shares the CPUs with the server, and there any work added to a session costs the server
 * ~2.8 times its own CPU (bench/README.md, "The observe bench's method").
 *
 * CPU is the server's whole process, all threads, in nanoseconds (`/proc/PID/task/* /schedstat`;
 * utime + stime in 10 ms ticks where that is missing). The variants run in turns, `--rounds`
 * times, each round starting with the next variant; a variant's cost is the median over the rounds
 * of its CPU per connection against the baseline's in the same round (paired, so a slow minute
 * moves both), with the medians of each printed beside it.
 *
 *     deno run -A bench/observe_bench.ts [--sessions 10000] [--warmup 20000] [--rounds 20]
 *       [--concurrency N] [--client c|deno] [--before DIR]
 *
 * `--before DIR` (a checkout of an earlier tree, e.g. `git worktree add /tmp/old REV`) runs every
 * variant by that tree's `cli.ts` too, in the same turns, each compared with its own tree's
 * baseline: a change's effect measured within one run.
 *
 * Loopback only, bounded: each server exits by itself after its sessions and one more
 * (`--exit-after`), the C
 * client starts exactly that many connections and gives up 10 s after a minute.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { exists, median, quantile } from "./util.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    sessions: { type: "string", default: "10000" },
    warmup: { type: "string", default: "20000" },
    rounds: { type: "string", default: "20" },
    concurrency: { type: "string" },
    client: { type: "string" },
    before: { type: "string" },
  },
});
const SESSIONS = Number(flags.sessions);
const WARMUP = Number(flags.warmup);
const ROUNDS = Number(flags.rounds);
const CLK_TCK = 100; // Linux USER_HZ
const REQUEST = "ping\n";
const REPLY = "ping\nHello, world!\n";
const root = new URL("../", import.meta.url);
const dir = Deno.makeTempDirSync({ prefix: "se-observe-bench-" });

/** The C load client, compiled into the bench's folder; why not, when it cannot be. */
async function compileLoad(): Promise<{ path: string } | { missing: string }> {
  if (navigator.hardwareConcurrency < 2) return { missing: "one CPU only" };
  if (!exists("/usr/bin/taskset")) return { missing: "no taskset" };
  const path = `${dir}/load`;
  try {
    const cc = await new Deno.Command("cc", {
      args: ["-O2", "-o", path, new URL("bench/load.c", root).pathname],
      stderr: "inherit",
    }).output();
    return cc.success ? { path } : { missing: "cc could not compile bench/load.c" };
  } catch {
    return { missing: "no cc" };
  }
}

const loader = flags.client === "deno" ? { missing: "--client deno" } : await compileLoad();
if (flags.client === "c" && "missing" in loader) {
  throw new Error(`--client c: ${loader.missing}`);
}
const LOAD = "path" in loader ? loader.path : undefined;
const CONCURRENCY = Number(flags.concurrency ?? (LOAD ? 64 : 16));

/** The server block's logging directives for each variant. */
const OWN: { name: string; directives: string }[] = [
  { name: "plain", directives: "" },
  { name: "record", directives: "echo_record {dir}/rec.jsonl;" },
  { name: "access_log", directives: "access_log {dir}/access.log;" },
];
/** Each variant, run by this tree's CLI and, with `--before DIR`, by that tree's too. */
const VARIANTS: { name: string; directives: string; root: URL }[] = flags.before === undefined
  ? OWN.map((v) => ({ ...v, root }))
  : [
    ...OWN.map((v) => ({
      ...v,
      name: `before:${v.name}`,
      root: new URL(`file://${Deno.realPathSync(flags.before!)}/`),
    })),
    ...OWN.map((v) => ({ ...v, name: `after:${v.name}`, root })),
  ];

/** The scheduler's CPU nanoseconds of each thread of a process (`schedstat`), by thread id. */
function threadNs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      try {
        const ns = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/schedstat`);
        out.set(task.name, Number(ns.split(" ")[0]));
      } catch { /* a thread that ended meanwhile */ }
    }
  } catch { /* no /proc/PID/task */ }
  return out;
}

/** utime + stime of a process (all threads, ended ones too), in seconds: 10 ms ticks. */
function tickSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** A process's CPU so far: its threads' nanoseconds, and its ticks. */
interface CpuMark {
  threads: Map<string, number>;
  ticks: number;
}

function cpuMark(pid: number): CpuMark {
  return { threads: threadNs(pid), ticks: tickSeconds(pid) };
}

/**
 * CPU seconds a process used between two marks: the sum of its threads' nanoseconds, exact; when a
 * thread that was there at the first mark has ended by the second (its time since is not readable),
 * or there is no schedstat, the ticks' difference instead (`coarse`).
 */
function cpuBetween(a: CpuMark, b: CpuMark): { seconds: number; coarse: boolean } {
  let ns = 0;
  for (const [tid, before] of a.threads) {
    const after = b.threads.get(tid);
    if (after === undefined) return { seconds: b.ticks - a.ticks, coarse: true };
    ns += after - before;
  }
  for (const [tid, after] of b.threads) if (!a.threads.has(tid)) ns += after;
  if (b.threads.size === 0) return { seconds: b.ticks - a.ticks, coarse: true };
  return { seconds: ns / 1e9, coarse: false };
}

async function waitReady(path: string, child: Deno.ChildProcess): Promise<number> {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    if (exited) throw new Error("server exited before listening");
    try {
      return JSON.parse(Deno.readTextFileSync(path)).listeners[0].port;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error("no ready file");
}

/** `n` sessions by the C client (pinned to CPU 1); returns how many failed. */
async function loadSessions(port: number, n: number): Promise<number> {
  const out = await new Deno.Command("taskset", {
    args: [
      "-c",
      "1",
      LOAD!,
      "rr",
      String(port),
      String(CONCURRENCY),
      "60",
      String(REPLY.length),
      REQUEST,
      String(n),
    ],
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  const r = JSON.parse(text.split("\n").pop()!);
  return r.errors + Math.max(0, n - r.conns - r.errors);
}

/** `n` sessions by CONCURRENCY Deno clients in this process; returns how many failed. */
async function denoSessions(port: number, n: number): Promise<number> {
  const request = new TextEncoder().encode(REQUEST);
  let left = n;
  let errors = 0;
  const worker = async () => {
    const buf = new Uint8Array(256);
    while (left > 0) {
      left--;
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(request);
        let got = "";
        for (;;) {
          const r = await conn.read(buf);
          if (r === null) break;
          got += new TextDecoder().decode(buf.subarray(0, r));
        }
        conn.close();
        if (got !== REPLY) errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return errors;
}

const sessions = LOAD ? loadSessions : denoSessions;

/** Runs one variant: CPU per connection over SESSIONS sessions after WARMUP unmeasured ones. */
async function measure(
  directives: string,
  tree: URL,
): Promise<{ cpuUs: number; errors: number; coarse: boolean }> {
  const run = Deno.makeTempDirSync({ dir, prefix: "run-" });
  try {
    const conf = `${run}/se.conf`;
    Deno.writeTextFileSync(
      conf,
      `error_log ${run}/error.log notice;\nevents { worker_connections 4096; }\n` +
        `stream { server { listen 127.0.0.1:0 backlog=4096; ${
          directives.replaceAll("{dir}", run)
        } echo_read_line; echo_request_data; echo "Hello, world!"; } }\n`,
    );
    const cmd = [
      ...(LOAD ? ["taskset", "-c", "0"] : []),
      Deno.execPath(),
      "run",
      "-A",
      new URL("cli.ts", tree).pathname,
      "serve",
      "--config",
      conf,
      "--ready-file",
      `${run}/ready.json`,
      "--exit-after",
      String(WARMUP + SESSIONS + 1),
    ];
    const child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const port = await waitReady(`${run}/ready.json`, child);
      let errors = await sessions(port, WARMUP);
      const mark = cpuMark(child.pid);
      errors += await sessions(port, SESSIONS);
      const cpu = cpuBetween(mark, cpuMark(child.pid));
      // One more session, unmeasured: the server exits after it by itself (`--exit-after`), so
      // its threads were all still there for the mark above.
      errors += await sessions(port, 1);
      const status = await child.status;
      if (!status.success) throw new Error(`server exited with ${status.code}`);
      return { cpuUs: (cpu.seconds / SESSIONS) * 1e6, errors, coarse: cpu.coarse };
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* exited by itself */ }
      await child.status;
    }
  } finally {
    Deno.removeSync(run, { recursive: true });
  }
}

const percent = (ratio: number) => `${((ratio - 1) * 100).toFixed(1)}%`;

try {
  console.log(
    LOAD
      ? `observe: the C load client on CPU 1, the server on CPU 0, ${CONCURRENCY} connections`
      : `observe: ${CONCURRENCY} Deno clients in the bench's process, unpinned (${
        "missing" in loader ? loader.missing : ""
      }): work added to a session is magnified here`,
  );
  const results = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  let errors = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    // Each round starts with another variant, so none always runs first (or last) in a round.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round - 1) % VARIANTS.length]);
    const line: string[] = [];
    for (const v of order) {
      const r = await measure(v.directives, v.root);
      results.get(v.name)!.push(r.cpuUs);
      errors += r.errors;
      line.push(`${v.name} ${r.cpuUs.toFixed(1)}${r.coarse ? " (ticks)" : ""}`);
    }
    console.log(`  round ${round}: ${line.join(", ")} us CPU/conn`);
  }
  /** The baseline of the tree `name` (`plain`, `before:plain` or `after:plain`) was run by. */
  const baseOf = (name: string) =>
    results.get(name.includes(":") ? `${name.split(":")[0]}:plain` : "plain")!;
  console.log(
    `observe: server CPU per connection, ${ROUNDS} rounds of ${SESSIONS} sessions ` +
      `(${CONCURRENCY} clients, request "ping\\n", ${errors} errors); a variant's cost is the ` +
      `median of its rounds' ratios to the baseline's`,
  );
  for (const v of VARIANTS) {
    const own = results.get(v.name)!;
    const m = median(own);
    if (v.name.endsWith("plain")) {
      console.log(`  ${v.name.padEnd(17)} ${m.toFixed(1)} us CPU/conn`);
      continue;
    }
    const base = baseOf(v.name);
    const ratios = own.map((x, i) => x / base[i]);
    const us = median(own.map((x, i) => x - base[i]));
    console.log(
      `  ${v.name.padEnd(17)} ${m.toFixed(1)} us CPU/conn, +${us.toFixed(1)} us, ` +
        `${percent(median(ratios))} added (the middle half of the rounds: ` +
        `${percent(quantile(ratios, 0.25))} to ${percent(quantile(ratios, 0.75))})`,
    );
  }
  if (errors > 0) Deno.exitCode = 1;
} finally {
  Deno.removeSync(dir, { recursive: true });
}
