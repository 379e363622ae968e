/**
 * The engine bench (issue 9): stream-echo beside its peers, all measured in the same run, each
 * server in its own process pinned to CPU 0 and the load client (bench/load.c, compiled here
 * with `cc -O2`) pinned to CPU 1 when `taskset` and two CPUs are there.
 *
 * Peers: the bare Deno floor (bench/bare_deno_server.ts: `conn.read` into 1 KiB, `conn.write`,
 * `conn.close`), Debian's nginx with its stream `return` module (`apt-get install -y nginx
 * libnginx-mod-stream`), and mountebank from npm (installed by this bench into a temporary folder,
 * a TCP imposter answering every request). A missing peer is reported, not fatal.
 *
 * Figures: one-line reply (conn/s, server CPU per connection from /proc/PID/stat, p99 latency),
 * request/response (send a line, read the reply, client closes), RSS per idle connection in
 * `echo_read_line` (10,000 clients, or fewer under the descriptor limit), `echo_duplicate` GB/s
 * to one reader. Then the issue's targets as ratios of this run. (1 vs 2 workers:
 * bench/workers_bench.ts.)
 *
 *     deno task bench engine
 *     deno run -A bench/engine_bench.ts [--duration 3] [--rounds 3] [--warmup 1] [--concurrency 64]
 *       [--idle 10000] [--dup-gb 1.2] [--no-mountebank] [--baseline DIR]
 *
 * `--baseline DIR` adds "stream-echo (baseline)" rows: the same workloads served by another
 * checkout of stream-echo (e.g. `git worktree add /tmp/old <commit>`), for before/after figures.
 *
 * Loopback only; every phase is bounded and the whole run stops by itself (a few minutes).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { exists, median } from "./util.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    concurrency: { type: "string", default: "64" },
    idle: { type: "string", default: "10000" },
    "dup-gb": { type: "string", default: "1.2" },
    "no-mountebank": { type: "boolean", default: false },
    rounds: { type: "string", default: "3" },
    baseline: { type: "string" },
  },
});
const DURATION = Number(flags.duration);
const ROUNDS = Math.max(1, Number(flags.rounds));
const WARMUP = Number(flags.warmup);
const CONC = Number(flags.concurrency);
const DUP_BYTES = Math.round(Number(flags["dup-gb"]) * 1e9);
const REPLY = "Hello, world!";
const REPLY_BYTES = REPLY.length + 1;
const REQUEST = "ping\n";
const UNIT = "hello, world";
const NGINX = "/usr/sbin/nginx";
const NGINX_STREAM = "/usr/lib/nginx/modules/ngx_stream_module.so";
const CLK_TCK = 100;
const PAGE = 4096;
const root = new URL("../", import.meta.url).pathname;
const baseline = flags.baseline ? `${flags.baseline.replace(/\/$/, "")}/` : undefined;
const BASE = "stream-echo (baseline)";
const dir = Deno.makeTempDirSync({ prefix: "se_engine_bench_" });
const cpus = navigator.hardwareConcurrency;
const pinned = cpus >= 2 && exists("/usr/bin/taskset");
const serverPin = pinned ? ["taskset", "-c", "0"] : [];
const clientPin = pinned ? ["taskset", "-c", "1"] : [];

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** The process and all its descendants. */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const task of Deno.readDirSync(`/proc/${out[i]}/task`)) {
        const kids = Deno.readTextFileSync(`/proc/${out[i]}/task/${task.name}/children`).trim();
        if (kids) out.push(...kids.split(/\s+/).map(Number));
      }
    } catch { /* gone */ }
  }
  return out;
}

/** utime + stime of a process tree, in seconds. */
function cpuSeconds(pid: number): number {
  let total = 0;
  for (const p of tree(pid)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${p}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(f[11]) + Number(f[12])) / CLK_TCK;
    } catch { /* gone */ }
  }
  return total;
}

/** Resident set size of a process tree, in bytes. */
function rssBytes(pid: number): number {
  let total = 0;
  for (const p of tree(pid)) {
    try {
      total += Number(Deno.readTextFileSync(`/proc/${p}/statm`).split(" ")[1]) * PAGE;
    } catch { /* gone */ }
  }
  return total;
}

/**
 * Waits until something listens on the port (from /proc/net/tcp and tcp6: nothing is consumed;
 * mountebank binds the IPv6 wildcard).
 */
async function waitListening(port: number, child: Deno.ChildProcess, what: string): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline) {
    if (exited) throw new Error(`${what} exited before listening`);
    const table = ["/proc/net/tcp", "/proc/net/tcp6"].map((t) => {
      try {
        return Deno.readTextFileSync(t);
      } catch {
        return "";
      }
    }).join("\n");
    const listening = table.split("\n").some((line) => {
      const f = line.trim().split(/\s+/);
      return f[3] === "0A" && f[1]?.endsWith(hex);
    });
    if (listening) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: nothing listens on port ${port}`);
}

interface Server {
  name: string;
  pid: number;
  stop(): Promise<void>;
}

async function spawn(name: string, cmd: string[], port: number, signal: Deno.Signal = "SIGTERM") {
  const argv = [...serverPin, ...cmd];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const server: Server = {
    name,
    pid: child.pid,
    async stop() {
      try {
        child.kill(signal);
      } catch { /* gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5000);
      await child.status;
      clearTimeout(timer);
    },
  };
  try {
    await waitListening(port, child, name);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

function streamEcho(body: string, port: number, main = "", tree = root): Promise<Server> {
  const conf = `${dir}/se_${port}.conf`;
  Deno.writeTextFileSync(
    conf,
    `${main}error_log ${dir}/se_${port}.log warn;\nevents { worker_connections 16384; }\n` +
      `stream { server { listen 127.0.0.1:${port} backlog=4096; ${body} } }\n`,
  );
  return spawn("stream-echo", [
    Deno.execPath(),
    "run",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-ffi",
    "--unstable-net",
    `${tree}cli.ts`,
    "serve",
    "--config",
    conf,
  ], port);
}

function bareDeno(mode: string, port: number, bytes = 0): Promise<Server> {
  return spawn("bare Deno", [
    Deno.execPath(),
    "run",
    "--allow-net",
    `${root}bench/bare_deno_server.ts`,
    mode,
    String(port),
    String(bytes),
  ], port);
}

function nginxMissing(): string | null {
  return exists(NGINX) && exists(NGINX_STREAM)
    ? null
    : "not installed (apt-get install -y nginx libnginx-mod-stream)";
}

function nginx(port: number): Promise<Server> {
  const prefix = `${dir}/nginx_${port}/`;
  Deno.mkdirSync(`${prefix}logs`, { recursive: true });
  Deno.writeTextFileSync(
    `${prefix}nginx.conf`,
    `load_module ${NGINX_STREAM};\ndaemon off;\nmaster_process off;\nworker_processes 1;\n` +
      `pid ${prefix}logs/nginx.pid;\nerror_log ${prefix}logs/error.log warn;\n` +
      `events { worker_connections 16384; }\n` +
      `stream { server { listen 127.0.0.1:${port} backlog=4096; return "${REPLY}\\n"; } }\n`,
  );
  return spawn(
    "nginx",
    [NGINX, "-p", prefix, "-c", `${prefix}nginx.conf`, "-e", `${prefix}logs/error.log`],
    port,
    "SIGQUIT",
  );
}

/** Installs mountebank into a temporary folder (npm); the path of its `mb`, or why not. */
async function installMountebank(): Promise<{ mb: string } | { missing: string }> {
  if (flags["no-mountebank"]) return { missing: "skipped (--no-mountebank)" };
  const where = `${dir}/mountebank`;
  Deno.mkdirSync(where, { recursive: true });
  Deno.writeTextFileSync(`${where}/package.json`, '{ "private": true }');
  try {
    const out = await new Deno.Command("npm", {
      args: ["install", "--no-audit", "--no-fund", "--loglevel=error", "mountebank"],
      cwd: where,
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(240_000),
    }).output();
    if (!out.success) {
      return { missing: `npm install mountebank failed: ${new TextDecoder().decode(out.stderr)}` };
    }
  } catch (err) {
    return { missing: `npm install mountebank failed: ${err}` };
  }
  const mb = `${where}/node_modules/mountebank/bin/mb`;
  return exists(mb) ? { mb } : { missing: `no ${mb} after npm install` };
}

async function mountebank(mb: string, port: number): Promise<Server> {
  const adminPort = freePort();
  const server = await spawn("mountebank", [
    "node",
    mb,
    "--port",
    String(adminPort),
    "--loglevel",
    "warn",
    "--nologfile",
  ], adminPort);
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/imposters`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        protocol: "tcp",
        port,
        mode: "text",
        stubs: [{ responses: [{ is: { data: `${REPLY}\n` } }] }],
      }),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`mountebank refused the imposter: HTTP ${res.status}`);
    const child = { status: new Promise<never>(() => {}) } as unknown as Deno.ChildProcess;
    await waitListening(port, child, "mountebank imposter");
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

let loadPath = "";

async function load(args: string[]): Promise<Record<string, number>> {
  const argv = [...clientPin, loadPath, ...args];
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stderr: "inherit" }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  try {
    return JSON.parse(text.split("\n").pop()!);
  } catch {
    throw new Error(`load client: ${text || `exit ${out.code}`}`);
  }
}

interface Rate {
  perSecond: number;
  cpuUs: number;
  p99Ms: number;
  errors: number;
}

/** Warm-up, then a measured run of the load client against `server`. */
async function rate(server: Server, port: number, mode: "reply" | "rr"): Promise<Rate> {
  const extra = mode === "rr" ? [REQUEST] : [];
  if (WARMUP > 0) {
    await load([mode, String(port), String(CONC), String(WARMUP), String(REPLY_BYTES), ...extra]);
  }
  const cpu0 = cpuSeconds(server.pid);
  const r = await load([
    mode,
    String(port),
    String(CONC),
    String(DURATION),
    String(REPLY_BYTES),
    ...extra,
  ]);
  const cpu = cpuSeconds(server.pid) - cpu0;
  return {
    perSecond: r.conns / r.seconds,
    cpuUs: r.conns > 0 ? cpu / r.conns * 1e6 : NaN,
    p99Ms: r.p99_us / 1000,
    errors: r.errors,
  };
}

/** Server RSS per idle connection: N clients connect and wait; RSS before and after. */
async function idleRss(server: Server, port: number, n: number): Promise<number> {
  // A few connections first, so start-up allocations are not counted as per-connection.
  await load(["rr", String(port), "4", "0.3", String(REPLY_BYTES), REQUEST]);
  await new Promise((r) => setTimeout(r, 300));
  const before = rssBytes(server.pid);
  const argv = [...clientPin, loadPath, "idle", String(port), String(n), "60", ""];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  const ready = JSON.parse(new TextDecoder().decode(value).trim()).ready as number;
  // Let the server accept and park every connection; take RSS once it stops growing.
  let after = rssBytes(server.pid);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const now = rssBytes(server.pid);
    if (Math.abs(now - after) < 64 * 1024 && i >= 3) break;
    after = now;
  }
  after = rssBytes(server.pid);
  await child.stdin.close();
  reader.releaseLock();
  await child.stdout.cancel();
  await child.status;
  if (ready < n) console.log(`  (only ${ready} of ${n} idle clients connected)`);
  return (after - before) / ready;
}

async function stream(port: number): Promise<number> {
  return (await load(["stream", String(port)])).gbps;
}

function fdLimit(): number {
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    const m = limits.match(/Max open files\s+(\d+)/);
    return m ? Number(m[1]) : 1024;
  } catch {
    return 1024;
  }
}

const f = (n: number, d = 1) => Number.isFinite(n) ? n.toFixed(d) : "n/a";
const results: Record<string, Record<string, Rate | string>> = { reply: {}, rr: {} };
const idle: Record<string, number | string> = {};
const dup: Record<string, number | string> = {};

/**
 * Runs `fn` against a fresh server; a failure is recorded as text. With several rounds the
 * servers are measured in turn, round after round (so a burst of load elsewhere on the machine
 * hits them alike), and each figure is the median of its rounds.
 */
async function measure(
  table: Record<string, Rate | string>,
  name: string,
  start: () => Promise<Server>,
  fn: (s: Server) => Promise<Rate>,
) {
  let server: Server | undefined;
  try {
    server = await start();
    const r = await fn(server);
    (samples[name] ??= []).push(r);
    table[name] = medianRate(samples[name]);
  } catch (err) {
    table[name] = `failed: ${err instanceof Error ? err.message : err}`;
  } finally {
    await server?.stop();
  }
}

let samples: Record<string, Rate[]> = {};

function medianRate(rs: Rate[]): Rate {
  return {
    perSecond: median(rs.map((r) => r.perSecond)),
    cpuUs: median(rs.map((r) => r.cpuUs)),
    p99Ms: median(rs.map((r) => r.p99Ms)),
    errors: rs.reduce((n, r) => n + r.errors, 0),
  };
}

try {
  loadPath = `${dir}/load`;
  const cc = await new Deno.Command("cc", {
    args: ["-O2", "-o", loadPath, `${root}bench/load.c`],
    stderr: "inherit",
  }).output();
  if (!cc.success) throw new Error("cc could not compile bench/load.c");
  const started = new Date();
  // Installed first, never during a measurement (npm would take the CPUs the servers need).
  const mbResult = await installMountebank();
  const nginxWhy = nginxMissing();
  console.log(
    `engine bench ${started.toISOString()}: ${CONC} clients, ${WARMUP}s warm-up + ${DURATION}s per ` +
      `server and round, ${ROUNDS} interleaved rounds (medians), ${cpus} CPUs, ${
        pinned ? "server on CPU 0, client on CPU 1" : "not pinned"
      }, load average ${Deno.loadavg()[0].toFixed(2)}`,
  );

  // One-line reply.
  const replyBody = `echo "${REPLY}";`;
  samples = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (
      const [name, start] of [
        ["stream-echo", (p: number) => streamEcho(replyBody, p)],
        ["bare Deno", (p: number) => bareDeno("reply", p)],
        ["nginx", (p: number) => nginx(p)],
        [BASE, (p: number) => streamEcho(replyBody, p, "", baseline)],
      ] as const
    ) {
      if (name === BASE && !baseline) continue;
      if (name === "nginx" && nginxWhy) {
        results.reply[name] = nginxWhy;
        continue;
      }
      const port = freePort();
      await measure(results.reply, name, () => start(port), (s) => rate(s, port, "reply"));
    }
  }

  // Request/response.
  const rrBody = `echo_read_line; echo "${REPLY}";`;
  samples = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (
      const [name, start] of [
        ["stream-echo", (p: number) => streamEcho(rrBody, p)],
        ["bare Deno", (p: number) => bareDeno("rr", p)],
        ["nginx", (p: number) => nginx(p)],
        ["mountebank", (p: number) => mountebank("mb" in mbResult ? mbResult.mb : "", p)],
        [BASE, (p: number) => streamEcho(rrBody, p, "", baseline)],
      ] as const
    ) {
      if (name === BASE && !baseline) continue;
      if (name === "nginx" && nginxWhy) {
        results.rr[name] = nginxWhy;
        continue;
      }
      if (name === "mountebank" && "missing" in mbResult) {
        results.rr[name] = mbResult.missing;
        continue;
      }
      const port = freePort();
      await measure(results.rr, name, () => start(port), (s) => rate(s, port, "rr"));
    }
  }

  // RSS per idle connection.
  const idleN = Math.min(Number(flags.idle), fdLimit() - 200);
  for (
    const [name, start] of [
      ["stream-echo", (p: number) => streamEcho("echo_read_line; echo_request_data;", p)],
      ["bare Deno", (p: number) => bareDeno("idle", p)],
      [BASE, (p: number) => streamEcho("echo_read_line; echo_request_data;", p, "", baseline)],
    ] as const
  ) {
    if (name === BASE && !baseline) continue;
    const port = freePort();
    let server: Server | undefined;
    try {
      server = await start(port);
      idle[name] = await idleRss(server, port, idleN);
    } catch (err) {
      idle[name] = `failed: ${err instanceof Error ? err.message : err}`;
    } finally {
      await server?.stop();
    }
  }

  // echo_duplicate throughput to one reader.
  const reps = Math.ceil(DUP_BYTES / UNIT.length);
  for (
    const [name, start] of [
      ["stream-echo", (p: number) => streamEcho(`echo_duplicate ${reps} "${UNIT}";`, p)],
      ["bare Deno", (p: number) => bareDeno("stream", p, reps * UNIT.length)],
      [BASE, (p: number) => streamEcho(`echo_duplicate ${reps} "${UNIT}";`, p, "", baseline)],
    ] as const
  ) {
    if (name === BASE && !baseline) continue;
    const port = freePort();
    let server: Server | undefined;
    try {
      server = await start(port);
      // One transfer lasts a fraction of a second: the median of three.
      const runs = [await stream(port), await stream(port), await stream(port)];
      dup[name] = median(runs);
    } catch (err) {
      dup[name] = `failed: ${err instanceof Error ? err.message : err}`;
    } finally {
      await server?.stop();
    }
  }

  // ---- report ------------------------------------------------------------------------------
  const row = (name: string, r: Rate | string | undefined) =>
    typeof r === "object"
      ? `  ${name.padEnd(23)} ${f(r.perSecond, 0).padStart(8)} /s ${
        f(r.cpuUs).padStart(7)
      } us CPU/conn ` +
        `${f(r.p99Ms, 2).padStart(7)} ms p99${r.errors ? ` (${r.errors} errors)` : ""}`
      : `  ${name.padEnd(23)} ${r ?? "n/a"}`;
  for (
    const [title, key] of [
      ["One-line reply (connect, read to EOF, close)", "reply"],
      ["Request/response (send a line, read the reply, client closes)", "rr"],
    ] as const
  ) {
    console.log(`\n${title}:`);
    for (const [name, r] of Object.entries(results[key])) console.log(row(name, r));
  }
  console.log(`\nRSS per idle connection in echo_read_line (${idleN} clients):`);
  for (const [name, v] of Object.entries(idle)) {
    console.log(`  ${name.padEnd(23)} ${typeof v === "number" ? `${f(v / 1024, 2)} KB` : v}`);
  }
  console.log(`\necho_duplicate ${f(reps * UNIT.length / 1e9, 2)} GB to one reader:`);
  for (const [name, v] of Object.entries(dup)) {
    console.log(`  ${name.padEnd(23)} ${typeof v === "number" ? `${f(v, 2)} GB/s` : v}`);
  }
  // Targets, as ratios of this run.
  console.log("\nTargets (issue 9), ratios of this run:");
  const verdict = (ok: boolean) => ok ? "met" : "NOT met";
  for (const key of ["reply", "rr"] as const) {
    const se = results[key]["stream-echo"];
    const bare = results[key]["bare Deno"];
    if (typeof se !== "object" || typeof bare !== "object") continue;
    const cpu = se.cpuUs / bare.cpuUs;
    const conns = se.perSecond / bare.perSecond;
    const p99 = se.p99Ms / bare.p99Ms;
    console.log(
      `  ${key}: CPU/conn ${f(cpu, 2)}x bare Deno (<= 1.25x: ${verdict(cpu <= 1.25)}), ` +
        `conn/s ${f(conns, 2)}x (>= 0.85x: ${verdict(conns >= 0.85)}), ` +
        `p99 ${f(p99, 2)}x (<= 1.5x: ${verdict(p99 <= 1.5)})`,
    );
  }
  const se = results.rr["stream-echo"];
  const mbr = results.rr["mountebank"];
  if (typeof se === "object" && typeof mbr === "object") {
    const x = se.perSecond / mbr.perSecond;
    console.log(`  request/response: ${f(x, 2)}x mountebank's rate (>= 3x: ${verdict(x >= 3)})`);
  }
  if (typeof idle["stream-echo"] === "number") {
    const kb = (idle["stream-echo"] as number) / 1024;
    console.log(`  idle connection: ${f(kb, 2)} KB RSS (<= 6 KB: ${verdict(kb <= 6)})`);
  }
  if (typeof dup["stream-echo"] === "number" && typeof dup["bare Deno"] === "number") {
    const x = (dup["stream-echo"] as number) / (dup["bare Deno"] as number);
    console.log(`  echo_duplicate: ${f(x, 2)}x bare Deno's GB/s (>= 0.95x: ${verdict(x >= 0.95)})`);
  }
  console.log(
    `\n(finished in ${f((Date.now() - started.getTime()) / 1000, 0)} s; load average ${
      Deno.loadavg()[0].toFixed(2)
    })`,
  );
} finally {
  Deno.removeSync(dir, { recursive: true });
}
