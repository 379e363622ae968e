/**
 * Engine benchmark, beside nginx: runs stream-echo (the real CLI, in its own process) and
 * Debian's nginx with its stream `return` module (in its own process, from a temp prefix),
 * both serving the same one-line reply on loopback, and prints:
 *
 * - connections per second (connect, read the reply to EOF, close; C concurrent clients);
 * - server CPU per connection (utime + stime from /proc/<pid>/stat over the run);
 * - GB/s of `echo_duplicate` (stream-echo only: nginx's stream module has nothing like it; the
 *   ceiling shown is a bare Deno `conn.write` loop sending the same bytes, in its own process);
 * - for reference, a bare Deno accept/write/close server: the runtime's floor per connection;
 * - RSS of the server while it streams 10 GB with `echo_duplicate` (flat memory).
 *
 *     deno run -A bench/engine_bench.ts [--duration 3] [--warmup 1] [--concurrency 16] [--stream-gb 10]
 *
 * Loopback only, bounded (each phase stops itself), ports chosen by binding port 0. nginx comes
 * from `apt-get install nginx libnginx-mod-stream`; without it the nginx columns say so.
 *
 * @module
 */
import { parseArgs } from "node:util";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "3" },
    warmup: { type: "string", default: "1" },
    concurrency: { type: "string", default: "16" },
    "stream-gb": { type: "string", default: "10" },
  },
});
const DURATION_MS = Number(flags.duration) * 1000;
const WARMUP_MS = Number(flags.warmup) * 1000;
const CONCURRENCY = Number(flags.concurrency);
const STREAM_BYTES = Math.round(Number(flags["stream-gb"]) * 1e9);
const REPLY = "Hello, world!\n";
const UNIT = "hello, world";
const NGINX = "/usr/sbin/nginx";
const NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";
const CLK_TCK = 100; // Linux USER_HZ
const PAGE = 4096;
const root = new URL("../", import.meta.url);

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident set size of a process, in bytes. */
function rssBytes(pid: number): number {
  const statm = Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ");
  return Number(statm[1]) * PAGE;
}

async function waitListening(port: number, child: Deno.ChildProcess): Promise<void> {
  const deadline = performance.now() + 15_000;
  let exited = false;
  child.status.then(() => exited = true);
  while (performance.now() < deadline) {
    if (exited) throw new Error("server exited before listening");
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      // Read the reply to the end so the probe leaves nothing behind.
      const buf = new Uint8Array(256);
      while ((await c.read(buf)) !== null) { /* drain */ }
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on port ${port}`);
}

interface Server {
  name: string;
  pid: number;
  stop(): Promise<void>;
}

/** Spawns `cmd args` quietly and wraps it as a {@linkcode Server} stopped by `stopSignal`. */
function spawnServer(
  name: string,
  cmd: string,
  args: string[],
  stopSignal: Deno.Signal,
): { server: Server; child: Deno.ChildProcess } {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "null" })
    .spawn();
  const server: Server = {
    name,
    pid: child.pid,
    async stop() {
      try {
        child.kill(stopSignal);
      } catch { /* gone */ }
      await child.status;
    },
  };
  return { server, child };
}

async function startStreamEcho(dir: string, port: number, body: string): Promise<Server> {
  const conf = `${dir}/se_${port}.conf`;
  Deno.writeTextFileSync(
    conf,
    `error_log ${dir}/se_${port}.log warn;\nevents { worker_connections 4096; }\n` +
      `stream { server { listen 127.0.0.1:${port} backlog=4096; ${body} } }\n`,
  );
  const { server, child } = spawnServer(
    "stream-echo",
    Deno.execPath(),
    ["run", "-A", new URL("cli.ts", root).pathname, "serve", "--config", conf],
    "SIGTERM",
  );
  await waitListening(port, child);
  return server;
}

function nginxAvailable(): string | null {
  try {
    Deno.statSync(NGINX);
    Deno.statSync(NGINX_STREAM_MODULE);
    return null;
  } catch {
    return `nginx not installed (${NGINX} with ${NGINX_STREAM_MODULE}); ` +
      "install it with: apt-get install -y nginx libnginx-mod-stream";
  }
}

async function startNginx(dir: string, port: number): Promise<Server> {
  const prefix = `${dir}/nginx/`;
  Deno.mkdirSync(`${prefix}logs`, { recursive: true });
  const conf = `${prefix}nginx.conf`;
  Deno.writeTextFileSync(
    conf,
    `load_module ${NGINX_STREAM_MODULE};\ndaemon off;\nmaster_process off;\nworker_processes 1;\n` +
      `pid ${prefix}logs/nginx.pid;\nerror_log ${prefix}logs/error.log warn;\n` +
      `events { worker_connections 4096; }\n` +
      `stream { server { listen 127.0.0.1:${port} backlog=4096; return ${
        JSON.stringify(REPLY)
      }; } }\n`,
  );
  const { server, child } = spawnServer(
    "nginx",
    NGINX,
    ["-p", prefix, "-c", conf, "-e", `${prefix}logs/error.log`],
    "SIGQUIT",
  );
  await waitListening(port, child);
  return server;
}

interface RateResult {
  conns: number;
  perSecond: number;
  cpuPerConnUs: number;
  errors: number;
}

/**
 * C clients, each: connect, read to EOF, check the reply, close; first for WARMUP_MS unmeasured
 * (the JIT warms up), then for DURATION_MS.
 */
async function connectionRate(server: Server, port: number): Promise<RateResult> {
  if (WARMUP_MS > 0) await clients(port, WARMUP_MS);
  const cpu0 = cpuSeconds(server.pid);
  const t0 = performance.now();
  const { conns, errors } = await clients(port, DURATION_MS);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(server.pid) - cpu0;
  return {
    conns,
    perSecond: conns / seconds,
    cpuPerConnUs: conns > 0 ? (cpu / conns) * 1e6 : NaN,
    errors,
  };
}

async function clients(port: number, ms: number): Promise<{ conns: number; errors: number }> {
  const expected = new TextEncoder().encode(REPLY);
  const stopAt = performance.now() + ms;
  let conns = 0;
  let errors = 0;
  const worker = async () => {
    const buf = new Uint8Array(256);
    while (performance.now() < stopAt) {
      let conn: Deno.TcpConn | undefined;
      try {
        conn = await Deno.connect({ hostname: "127.0.0.1", port });
        let got = 0;
        let ok = true;
        for (;;) {
          const n = await conn.read(buf.subarray(got));
          if (n === null) break;
          got += n;
          if (got >= buf.length) break;
        }
        if (got !== expected.length) ok = false;
        for (let i = 0; ok && i < got; i++) if (buf[i] !== expected[i]) ok = false;
        if (ok) conns++;
        else errors++;
      } catch {
        errors++;
      } finally {
        try {
          conn?.close();
        } catch { /* closed */ }
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { conns, errors };
}

interface StreamResult {
  bytes: number;
  gbPerSecond: number;
  rssStartMiB: number;
  rssMaxMiB: number;
  rssEndMiB: number;
}

/** Reads one connection's whole reply as fast as possible, sampling the server's RSS. */
async function streamRate(pid: number | null, port: number): Promise<StreamResult> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const buf = new Uint8Array(4 << 20);
  const mib = (b: number) => b / (1 << 20);
  const rssStart = pid ? rssBytes(pid) : 0;
  let rssMax = rssStart;
  const sampler = pid ? setInterval(() => rssMax = Math.max(rssMax, rssBytes(pid)), 100) : 0;
  let bytes = 0;
  const t0 = performance.now();
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      bytes += n;
    }
  } finally {
    clearInterval(sampler);
    conn.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const rssEnd = pid ? rssBytes(pid) : 0;
  return {
    bytes,
    gbPerSecond: bytes / seconds / 1e9,
    rssStartMiB: mib(rssStart),
    rssMaxMiB: mib(Math.max(rssMax, rssEnd)),
    rssEndMiB: mib(rssEnd),
  };
}

/**
 * A bare Deno server in its own process, for reference: `mode` "reply" writes the one-line reply,
 * half-closes and reads to EOF per connection; "stream" writes `bytes` of repeated `UNIT` with a
 * plain `conn.write` loop (the ceiling for echo_duplicate).
 */
async function startBareDeno(port: number, mode: "reply" | "stream", bytes = 0): Promise<Server> {
  const code = `
    const l = Deno.listen({ hostname: "127.0.0.1", port: ${port} });
    const reply = new TextEncoder().encode(${JSON.stringify(REPLY)});
    const unit = new TextEncoder().encode(${JSON.stringify(UNIT)});
    const chunk = new Uint8Array(unit.length * Math.floor((1 << 20) / unit.length));
    for (let i = 0; i < chunk.length; i += unit.length) chunk.set(unit, i);
    for (;;) {
      let c;
      try { c = await l.accept(); } catch { continue; }
      (async () => {
        try {
          if (${JSON.stringify(mode)} === "reply") {
            c.setNoDelay(true);
            await c.write(reply);
            await c.closeWrite();
            const b = new Uint8Array(1024);
            while ((await c.read(b)) !== null) { /* to EOF */ }
          } else {
            let left = ${bytes};
            while (left > 0) left -= await c.write(left >= chunk.length ? chunk : chunk.subarray(0, left));
          }
        } catch { /* client gone */ }
        try { c.close(); } catch { /* closed */ }
      })();
    }`;
  const { server, child } = spawnServer("bare Deno", Deno.execPath(), ["eval", code], "SIGTERM");
  if (mode === "reply") await waitListening(port, child);
  else await waitPort(port, child);
  return server;
}

/** Waits until something accepts on `port` without reading from it (for streaming servers). */
async function waitPort(port: number, child: Deno.ChildProcess): Promise<void> {
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    const listening = Deno.readTextFileSync("/proc/net/tcp").split("\n").some((line) => {
      const f = line.trim().split(/\s+/);
      return f[3] === "0A" &&
        f[1]?.endsWith(`:${port.toString(16).toUpperCase().padStart(4, "0")}`);
    });
    if (listening) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error(`nothing listens on port ${port}`);
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

const dir = Deno.makeTempDirSync({ prefix: "se_engine_bench_" });
console.log(
  `engine bench: ${CONCURRENCY} clients x ${DURATION_MS / 1000}s per server after ${
    WARMUP_MS / 1000
  }s warm-up, loopback, ${navigator.hardwareConcurrency} cores (shared with the load ` +
    `generator; load average ${Deno.loadavg()[0].toFixed(2)} at start)`,
);
try {
  // --- connections per second and CPU per connection --------------------------------------
  const sePort = freePort();
  const se = await startStreamEcho(dir, sePort, `echo ${JSON.stringify(REPLY.trimEnd())};`);
  const seRate = await connectionRate(se, sePort);
  await se.stop();

  const barePort = freePort();
  const bare = await startBareDeno(barePort, "reply");
  const bareRate = await connectionRate(bare, barePort);
  await bare.stop();

  const missing = nginxAvailable();
  let ngRate: RateResult | null = null;
  if (!missing) {
    const ngPort = freePort();
    const ng = await startNginx(dir, ngPort);
    ngRate = await connectionRate(ng, ngPort);
    await ng.stop();
  }
  console.log("\nOne-line reply, connect + read to EOF + close:");
  console.log(
    `  stream-echo: ${fmt(seRate.perSecond)} conn/s, ${fmt(seRate.cpuPerConnUs, 1)} us CPU/conn` +
      ` (${seRate.conns} conns, ${seRate.errors} errors)`,
  );
  if (ngRate) {
    console.log(
      `  nginx:       ${fmt(ngRate.perSecond)} conn/s, ${
        fmt(ngRate.cpuPerConnUs, 1)
      } us CPU/conn (${ngRate.conns} conns, ${ngRate.errors} errors)`,
    );
    console.log(
      `  ratio stream-echo/nginx: ${fmt(seRate.perSecond / ngRate.perSecond, 2)}x conn/s, ` +
        `${fmt(seRate.cpuPerConnUs / ngRate.cpuPerConnUs, 2)}x CPU per connection`,
    );
  } else {
    console.log(`  nginx:       not measured: ${missing}`);
  }
  console.log(
    `  bare Deno (accept, write, closeWrite, read to EOF, close; the runtime's floor): ${
      fmt(bareRate.perSecond)
    } conn/s, ${fmt(bareRate.cpuPerConnUs, 1)} us CPU/conn; stream-echo ${
      fmt(seRate.perSecond / bareRate.perSecond, 2)
    }x of its conn/s`,
  );

  // --- echo_duplicate throughput and memory -------------------------------------------------
  const reps = Math.ceil(STREAM_BYTES / UNIT.length);
  const dupPort = freePort();
  const dup = await startStreamEcho(
    dir,
    dupPort,
    `echo_duplicate ${reps} ${JSON.stringify(UNIT)};`,
  );
  const stream = await streamRate(dup.pid, dupPort);
  await dup.stop();
  const ceilPort = freePort();
  const ceilBytes = Math.min(STREAM_BYTES, 4e9);
  const ceilServer = await startBareDeno(ceilPort, "stream", ceilBytes);
  const ceiling = (await streamRate(null, ceilPort)).gbPerSecond;
  await ceilServer.stop();
  console.log(`\necho_duplicate ${reps} "${UNIT}" (${fmt(stream.bytes / 1e9, 1)} GB):`);
  console.log(
    `  stream-echo: ${fmt(stream.gbPerSecond, 2)} GB/s; server RSS ${fmt(stream.rssStartMiB, 1)}` +
      ` MiB at start, ${fmt(stream.rssMaxMiB, 1)} MiB max, ${fmt(stream.rssEndMiB, 1)} MiB at end`,
  );
  console.log(
    `  bare Deno conn.write loop, own process (ceiling): ${fmt(ceiling, 2)} GB/s over ${
      fmt(ceilBytes / 1e9, 1)
    } GB; stream-echo reaches ${fmt(stream.gbPerSecond / ceiling * 100)}% of it`,
  );
  console.log(
    "  nginx: its stream module has no echo_duplicate equivalent (`return` takes one string)",
  );
} finally {
  Deno.removeSync(dir, { recursive: true });
}
