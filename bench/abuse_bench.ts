/**
 * Abuse benchmark (issue 8): how the server holds up against clients and conditions that try to
 * stall or bloat it. Runs the real CLI in its own process (with the binary's permissions) and
 * prints, each beside a peer measured in the same run:
 *
 * 1. close latency of a short session that closes abortively (unread input, lingering off: the
 *    client sees a reset) with 0 and with 5,000 idle connections open;
 * 2. RSS per idle connection (10,000 of them; peer: a bare Deno server holding as many), right
 *    after they close, and once the server has given memory back;
 * 3. `[alert]` lines during a 5 s connect-and-close flood against `echo "Hello";` with default
 *    settings, and how a normal client served meanwhile fared;
 * 4. event-loop delay while stderr is a stalled pipe (nobody reads it), measured as the lateness
 *    of `echo_sleep 0.02` sessions; peer: the same with stderr read.
 *
 *     deno run -A bench/abuse_bench.ts [--idle 10000] [--flood-seconds 5]
 *
 * Loopback only, bounded (every wait has a deadline, every server is killed at the end), ports
 * from binding port 0.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BINARY_PERMISSIONS } from "../tests/binary_permissions.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    idle: { type: "string", default: "10000" },
    "flood-seconds": { type: "string", default: "5" },
  },
});
const IDLE = Number(flags.idle);
const FLOOD_MS = Number(flags["flood-seconds"]) * 1000;
const CLOSE_SAMPLES = 200;
const CLI = new URL("../cli.ts", import.meta.url).pathname;
const PAGE = 4096;
const enc = new TextEncoder();
const dir = Deno.makeTempDirSync({ prefix: "abuse_bench_" });

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function rssOf(pid: number): number {
  return Number(Deno.readTextFileSync(`/proc/${pid}/statm`).split(" ")[1]) * PAGE;
}

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => quantile(xs, 0.5);
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

interface Child {
  proc: Deno.ChildProcess;
  pid: number;
  kill(): Promise<void>;
}

/** Starts `stream-echo serve -c CONF`; stderr is "null", "piped" (caller reads or stalls it). */
function startCli(config: string, stderr: "null" | "piped"): Child {
  const conf = `${dir}/se_${Math.random().toString(36).slice(2)}.conf`;
  Deno.writeTextFileSync(conf, config);
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", ...BINARY_PERMISSIONS, CLI, "serve", "-c", conf],
    stdin: "null",
    stdout: "null",
    stderr,
  }).spawn();
  return { proc, pid: proc.pid, kill: () => killChild(proc) };
}

/** SIGTERM, then SIGKILL if it has not exited within 2 s (a stalled stderr may hold it). */
async function killChild(proc: Deno.ChildProcess): Promise<void> {
  try {
    proc.kill("SIGTERM");
  } catch { /* gone */ }
  const timer = setTimeout(() => {
    try {
      proc.kill("SIGKILL");
    } catch { /* gone */ }
  }, 2000);
  await proc.status;
  clearTimeout(timer);
}

/** Waits until something accepts on `port` (connects and closes at once). */
async function waitPort(port: number): Promise<void> {
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error(`nothing listens on port ${port}`);
}

/** Reads a connection to its end within `ms`; "eof", "reset", or "timeout". */
async function drain(conn: Deno.Conn, ms: number): Promise<"eof" | "reset" | "timeout"> {
  const buf = new Uint8Array(4096);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch { /* closed */ }
  }, ms);
  try {
    while ((await conn.read(buf)) !== null) { /* drop */ }
    return "eof";
  } catch {
    return timedOut ? "timeout" : "reset";
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** Opens `n` connections that send nothing (in batches, so the backlog is never overrun). */
async function openIdle(port: number, n: number): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < n; i += 250) {
    const batch = Array.from(
      { length: Math.min(250, n - i) },
      () => Deno.connect({ hostname: "127.0.0.1", port }),
    );
    conns.push(...await Promise.all(batch));
    await sleep(5);
  }
  return conns;
}

/** Waits until `pid`'s RSS changes by less than 1% over 300 ms (at most `ms`). */
async function settledRss(pid: number, ms = 5000): Promise<number> {
  const deadline = performance.now() + ms;
  let last = rssOf(pid);
  while (performance.now() < deadline) {
    await sleep(300);
    const now = rssOf(pid);
    if (Math.abs(now - last) < last * 0.01) return now;
    last = now;
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// 1 + 2: abortive close latency with 0 and 5,000 idle connections; RSS per idle connection.

/** One abortive session: send a line plus 16 KiB the script never reads; time until the end. */
async function abortiveSession(port: number): Promise<{ ms: number; end: string }> {
  const t0 = performance.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(enc.encode("a\n" + "x".repeat(16384)));
  const end = await drain(conn, 5000);
  return { ms: performance.now() - t0, end };
}

async function closeLatency(
  port: number,
): Promise<{ median: number; p90: number; resets: number }> {
  for (let i = 0; i < 20; i++) await abortiveSession(port); // warm-up
  const ms: number[] = [];
  let resets = 0;
  for (let i = 0; i < CLOSE_SAMPLES; i++) {
    const r = await abortiveSession(port);
    ms.push(r.ms);
    if (r.end === "reset") resets++;
  }
  return { median: median(ms), p90: quantile(ms, 0.9), resets };
}

async function bareDenoIdleRss(n: number): Promise<{ perConn: number }> {
  const port = freePort();
  const script = `
    const l = Deno.listen({ hostname: "127.0.0.1", port: ${port} });
    for await (const c of l) (async () => { const b = new Uint8Array(1024); try { while ((await c.read(b)) !== null); } catch {} try { c.close(); } catch {} })();
  `;
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitPort(port);
    const before = await settledRss(proc.pid);
    const conns = await openIdle(port, n);
    const open = await settledRss(proc.pid);
    for (const c of conns) c.close();
    return { perConn: (open - before) / n };
  } finally {
    await killChild(proc);
  }
}

async function idleAndClose(): Promise<void> {
  const idlePort = freePort();
  const abortPort = freePort();
  const server = startCli(
    `error_log ${dir}/idle.log info;\nevents { worker_connections ${IDLE + 1000}; }\n` +
      `stream {\n` +
      `  server { listen 127.0.0.1:${idlePort} backlog=4096; echo_read_line; echo ok; }\n` +
      `  server { listen 127.0.0.1:${abortPort}; echo_lingering_close off; echo_read_line; echo hi; }\n` +
      `}\n`,
    "null",
  );
  try {
    await waitPort(idlePort);
    await waitPort(abortPort);
    const zero = await closeLatency(abortPort);
    const start = await settledRss(server.pid, 2000);
    const half = Math.min(5000, IDLE);
    const conns = await openIdle(idlePort, half);
    await sleep(500);
    const loaded = await closeLatency(abortPort);
    console.log(`1. Abortive close (unread input, lingering off), ${CLOSE_SAMPLES} sessions each:`);
    console.log(
      `   0 idle connections:     median ${zero.median.toFixed(2)} ms, p90 ${
        zero.p90.toFixed(2)
      } ms (${zero.resets} of ${CLOSE_SAMPLES} clients saw the reset)`,
    );
    console.log(
      `   ${half} idle connections: median ${loaded.median.toFixed(2)} ms, p90 ${
        loaded.p90.toFixed(2)
      } ms (${loaded.resets} saw the reset); ${
        (loaded.median / zero.median).toFixed(2)
      }x the median with none open`,
    );

    conns.push(...await openIdle(idlePort, IDLE - half));
    const open = await settledRss(server.pid);
    const t0 = performance.now();
    for (const c of conns) c.close();
    await sleep(500);
    const justClosed = rssOf(server.pid);
    // The server gives memory back 1 s after the burst is over; wait for its log line.
    let released = "";
    while (!released && performance.now() - t0 < 10_000) {
      await sleep(250);
      released = Deno.readTextFileSync(`${dir}/idle.log`).split("\n")
        .find((l) => l.includes("memory returned")) ?? "";
    }
    const after = await settledRss(server.pid, 2000);
    const peer = await bareDenoIdleRss(IDLE);
    const perConn = (open - start) / IDLE;
    console.log(`2. Memory with ${IDLE} idle connections (server RSS):`);
    console.log(
      `   before ${mb(start)}, with ${IDLE} open ${mb(open)}: ${
        (perConn / 1024).toFixed(1)
      } KB per idle connection (a bare Deno server holding ${IDLE}: ${
        (peer.perConn / 1024).toFixed(1)
      } KB; ${(perConn / peer.perConn).toFixed(1)}x)`,
    );
    console.log(
      `   0.5 s after they all closed ${mb(justClosed)}; after the server gave memory back ${
        mb(after)
      }`,
    );
    console.log(
      `   server said: ${released.replace(/^.*\[info\] \S+ /, "").trim() || "(nothing)"}`,
    );
  } finally {
    await server.kill();
  }
}

// ---------------------------------------------------------------------------------------------
// 3: connect-and-close flood.

/** The flood client, run in its own process (see its header). */
const FLOOD_CLIENT = new URL("../tests/flood_client.ts", import.meta.url).pathname;

async function countLines(
  stream: ReadableStream<Uint8Array>,
  counts: { lines: number; alerts: number },
): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const l of parts) {
      counts.lines++;
      if (l.includes("[alert]")) counts.alerts++;
    }
  }
}

async function flood(): Promise<void> {
  const port = freePort();
  // Default settings: worker_connections 512, the error log on stderr at info.
  const server = startCli(
    `stream { server { listen 127.0.0.1:${port}; echo "Hello"; } }\n`,
    "piped",
  );
  const counts = { lines: 0, alerts: 0 };
  const reading = countLines(server.proc.stderr, counts);
  try {
    await waitPort(port);
    const floodRun = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", FLOOD_CLIENT, String(port), String(FLOOD_MS)],
      stdout: "piped",
      stderr: "null",
    }).output();
    let flooding = true;
    floodRun.finally(() => flooding = false);
    let ok = 0, failed = 0;
    const ms: number[] = [];
    while (flooding) {
      const t0 = performance.now();
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        const text = await new Response(conn.readable).text();
        if (text === "Hello\n") ok++;
        else failed++;
      } catch {
        failed++;
      }
      ms.push(performance.now() - t0);
    }
    const floodConns = Number(new TextDecoder().decode((await floodRun).stdout).trim());
    await sleep(300);
    console.log(`3. Connect-and-close flood, ${FLOOD_MS / 1000} s, default settings:`);
    console.log(
      `   ${counts.alerts} [alert] lines (of ${counts.lines} logged); the flooder made ${floodConns} connections`,
    );
    console.log(
      `   a normal client alongside: ${ok} replies, ${failed} failed; session median ${
        median(ms).toFixed(2)
      } ms, max ${Math.max(...ms).toFixed(0)} ms`,
    );
  } finally {
    await server.kill();
    await reading.catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// 4: event-loop delay with a stalled stderr.

async function sleepLateness(port: number, n: number): Promise<number[] | null> {
  const late: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const end = await drain(conn, 2000);
    if (end !== "eof") return null; // the server froze
    late.push(performance.now() - t0 - 20);
  }
  return late;
}

async function stalledStderr(): Promise<void> {
  const results: Record<string, string> = {};
  for (const mode of ["read", "stalled"] as const) {
    const fillPort = freePort();
    const sleepPort = freePort();
    const server = startCli(
      `stream {\n  server { listen 127.0.0.1:${fillPort}; echo ok; }\n` +
        `  server { listen 127.0.0.1:${sleepPort}; echo_sleep 0.02; echo ok; }\n}\n`,
      "piped",
    );
    const reading = mode === "read"
      ? countLines(server.proc.stderr, { lines: 0, alerts: 0 })
      : Promise.resolve();
    try {
      await waitPort(fillPort);
      await waitPort(sleepPort);
      // ~1,500 sessions log ~150 KB: far more than a pipe holds (64 KiB).
      let served = 0;
      for (let i = 0; i < 1500; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: fillPort });
        if (await drain(conn, 2000) !== "eof") break;
        served++;
      }
      const late = served === 1500 ? await sleepLateness(sleepPort, 200) : null;
      results[mode] = late
        ? `timer lateness median ${median(late).toFixed(2)} ms, p99 ${
          quantile(late, 0.99).toFixed(2)
        } ms, max ${Math.max(...late).toFixed(1)} ms`
        : `FROZE after ${served} sessions`;
      if (late) results[`${mode}:median`] = String(median(late));
    } finally {
      if (mode === "stalled") {
        // Let it go now: cancelling our end closes the pipe.
        await server.proc.stderr.cancel().catch(() => {});
      }
      await server.kill();
      await reading;
    }
  }
  console.log(
    `4. Event-loop delay (lateness of echo_sleep 0.02, 200 sessions, after 1,500 logged):`,
  );
  console.log(`   stderr read:            ${results.read}`);
  console.log(`   stderr a stalled pipe:  ${results.stalled}`);
  if (results["read:median"] && results["stalled:median"]) {
    console.log(
      `   stalled/read median: ${
        (Number(results["stalled:median"]) / Math.max(0.01, Number(results["read:median"])))
          .toFixed(2)
      }x`,
    );
  }
}

try {
  console.log(`abuse bench (loopback; load average ${Deno.loadavg()[0].toFixed(2)})`);
  await idleAndClose();
  await flood();
  await stalledStderr();
} finally {
  Deno.removeSync(dir, { recursive: true });
}
