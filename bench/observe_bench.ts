/**
 * What seeing sessions costs: the stream-echo CLI (in its own process) serving the same short
 * exchange three ways, and the server's CPU per connection for each:
 *
 * - plain: no access log, no recording (the baseline);
 * - record: `echo_record FILE` (every session's bytes both ways as one JSON line);
 * - access_log: `access_log FILE` in the default format.
 *
 * Each measurement is `--sessions` sessions (default 10,000) after a warm-up, by `--concurrency`
 * clients that connect, send a line, read the reply to EOF and close. The variants run in turns,
 * `--rounds` times (each round starting with the next variant), and the median of each is printed with its cost over the baseline of the same
 * run (the machine is noisy: compare ratios, not absolute figures). CPU is utime + stime from
 * /proc/<pid>/stat; the server is found listening through `--ready-file`.
 *
 *     deno run -A bench/observe_bench.ts [--sessions 10000] [--rounds 3] [--concurrency 16]
 *       [--before DIR]
 *
 * `--before DIR` (a checkout of an earlier tree, e.g. `git worktree add /tmp/old REV`) runs every
 * variant by that tree's `cli.ts` too, in the same turns, each compared with its own tree's
 * baseline: a change's effect measured within one run.
 *
 * Loopback only, bounded: each server exits by itself after its sessions (`--exit-after`).
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    sessions: { type: "string", default: "10000" },
    warmup: { type: "string", default: "2000" },
    rounds: { type: "string", default: "3" },
    concurrency: { type: "string", default: "16" },
    before: { type: "string" },
  },
});
const SESSIONS = Number(flags.sessions);
const WARMUP = Number(flags.warmup);
const ROUNDS = Number(flags.rounds);
const CONCURRENCY = Number(flags.concurrency);
const CLK_TCK = 100; // Linux USER_HZ
const REQUEST = new TextEncoder().encode("ping\n");
const REPLY = "ping\nHello, world!\n";
const root = new URL("../", import.meta.url);

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

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
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

/** `n` sessions by CONCURRENCY clients; returns how many replies were wrong. */
async function sessions(port: number, n: number): Promise<number> {
  let left = n;
  let errors = 0;
  const worker = async () => {
    const buf = new Uint8Array(256);
    while (left > 0) {
      left--;
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(REQUEST);
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

/** Runs one variant: CPU per connection over SESSIONS sessions after WARMUP unmeasured ones. */
async function measure(directives: string, tree: URL): Promise<{ cpuUs: number; errors: number }> {
  const dir = Deno.makeTempDirSync({ prefix: "se-observe-bench-" });
  try {
    const conf = `${dir}/se.conf`;
    Deno.writeTextFileSync(
      conf,
      `error_log ${dir}/error.log notice;\nevents { worker_connections 4096; }\n` +
        `stream { server { listen 127.0.0.1:0 backlog=4096; ${
          directives.replaceAll("{dir}", dir)
        } echo_read_line; echo_request_data; echo "Hello, world!"; } }\n`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("cli.ts", tree).pathname,
        "serve",
        "--config",
        conf,
        "--ready-file",
        `${dir}/ready.json`,
        "--exit-after",
        String(WARMUP + SESSIONS),
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const port = await waitReady(`${dir}/ready.json`, child);
      let errors = await sessions(port, WARMUP);
      const cpu0 = cpuSeconds(child.pid);
      errors += await sessions(port, SESSIONS);
      const cpu = cpuSeconds(child.pid) - cpu0;
      const status = await child.status;
      if (!status.success) throw new Error(`server exited with ${status.code}`);
      return { cpuUs: (cpu / SESSIONS) * 1e6, errors };
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* exited by itself */ }
      await child.status;
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const results = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
let errors = 0;
for (let round = 1; round <= ROUNDS; round++) {
  // Each round starts with another variant, so none always runs first (or last) in a round.
  const order = VARIANTS.map((_, i) => VARIANTS[(i + round - 1) % VARIANTS.length]);
  for (const v of order) {
    const r = await measure(v.directives, v.root);
    results.get(v.name)!.push(r.cpuUs);
    errors += r.errors;
    console.log(`  round ${round} ${v.name.padEnd(17)} ${r.cpuUs.toFixed(1)} us CPU/conn`);
  }
}
/** The baseline of the tree `name` (`plain`, `before:plain` or `after:plain`) was run by. */
const baseOf = (name: string) =>
  median(results.get(name.includes(":") ? `${name.split(":")[0]}:plain` : "plain")!);
console.log(
  `observe: server CPU per connection, median of ${ROUNDS} rounds of ${SESSIONS} sessions ` +
    `(${CONCURRENCY} clients, request "ping\\n", ${errors} errors)`,
);
for (const v of VARIANTS) {
  const m = median(results.get(v.name)!);
  const added = v.name.endsWith("plain")
    ? ""
    : `, ${((m / baseOf(v.name) - 1) * 100).toFixed(1)}% added`;
  console.log(`  ${v.name.padEnd(17)} ${m.toFixed(1)} us CPU/conn${added}`);
}
if (errors > 0) Deno.exit(1);
