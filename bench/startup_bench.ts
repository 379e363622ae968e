/**
 * Start-up time of the CLI: from spawning `stream-echo serve` to the first accepted connection
 * answering, and to the "listening on" log line. Runs `deno run cli.ts` and, when present, the
 * bundle `dist/stream-echo.js` (what the compiled binary runs), each with the binary's
 * permissions, plus nginx's stream module for comparison when `nginx` is installed.
 *
 *     deno run -A bench/startup_bench.ts [RUNS]        # default 10 runs per variant
 */
import { BINARY_PERMISSIONS } from "../tests/binary_permissions.ts";
import { exists } from "./util.ts";

const runs = Number(Deno.args[0] ?? 10);
const repo = new URL("..", import.meta.url).pathname;
const PERMS = BINARY_PERMISSIONS;

interface Variant {
  name: string;
  /** Command line, given the config file path and a work directory. */
  cmd: (conf: string, dir: string) => string[];
  /** Config text for `port`. */
  config: (port: number, dir: string) => string;
  /** Does the command log a "listening on" line? */
  logsListening: boolean;
}

const echoConfig = (port: number) =>
  `stream { server { listen 127.0.0.1:${port}; echo "Hello, world!"; } }\n`;

const variants: Variant[] = [{
  name: "deno run cli.ts",
  cmd: (conf) => [Deno.execPath(), "run", ...PERMS, `${repo}cli.ts`, "serve", "-c", conf],
  config: echoConfig,
  logsListening: true,
}];
variants.push({
  name: "deno baseline (bare listen)",
  cmd: (conf) => [Deno.execPath(), "run", ...PERMS, "--no-config", conf],
  config: (port) =>
    `const l = Deno.listen({ hostname: "127.0.0.1", port: ${port} });\n` +
    `for await (const c of l) { await c.write(new TextEncoder().encode("hi\\n")); c.close(); }\n`,
  logsListening: false,
});
try {
  Deno.statSync(`${repo}dist/stream-echo.js`);
  variants.push({
    name: "bundle dist/stream-echo.js",
    cmd: (conf) => [
      Deno.execPath(),
      "run",
      ...PERMS,
      "--no-config",
      `${repo}dist/stream-echo.js`,
      "serve",
      "-c",
      conf,
    ],
    config: echoConfig,
    logsListening: true,
  });
} catch {
  console.log("(no dist/stream-echo.js: run scripts/bundle_e2e.sh to bench the bundle too)");
}
const nginx = which("nginx");
const streamModule = "/usr/lib/nginx/modules/ngx_stream_module.so";
if (nginx) {
  variants.push({
    name: "nginx stream return",
    cmd: (conf, dir) => [nginx, "-p", dir, "-c", conf, "-e", `${dir}/nginx-error.log`],
    config: (port, dir) =>
      (exists(streamModule) ? `load_module ${streamModule};\n` : "") +
      `daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log;\n` +
      `events {}\nstream { server { listen 127.0.0.1:${port}; return "Hello, world!\\n"; } }\n`,
    logsListening: false,
  });
} else {
  console.log("(nginx not installed: no comparison; apt-get install nginx libnginx-mod-stream)");
}

function which(cmd: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (exists(`${dir}/${cmd}`)) return `${dir}/${cmd}`;
  }
  for (const dir of ["/usr/sbin", "/sbin"]) if (exists(`${dir}/${cmd}`)) return `${dir}/${cmd}`;
  return undefined;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** One start: ms to the listening line (NaN if none) and to the first reply. */
async function once(v: Variant): Promise<{ listening: number; firstReply: number }> {
  const dir = Deno.makeTempDirSync({ prefix: "se-startup-" });
  const port = freePort();
  const conf = `${dir}/se.conf`;
  Deno.writeTextFileSync(conf, v.config(port, dir));
  const [cmd, ...args] = v.cmd(conf, dir);
  const t0 = performance.now();
  const child = new Deno.Command(cmd, { args, cwd: dir, stdout: "null", stderr: "piped" })
    .spawn();
  let listening = NaN;
  const pump = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of child.stderr) {
      text += decoder.decode(chunk, { stream: true });
      if (Number.isNaN(listening) && text.includes("listening on")) {
        listening = performance.now() - t0;
      }
    }
  })();
  let firstReply = NaN;
  const deadline = t0 + 15_000;
  while (performance.now() < deadline) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const buf = new Uint8Array(64);
      const n = await conn.read(buf);
      conn.close();
      if (n !== null && n > 0) {
        firstReply = performance.now() - t0;
        break;
      }
    } catch {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  child.kill("SIGTERM");
  await child.status;
  await pump;
  Deno.removeSync(dir, { recursive: true });
  if (Number.isNaN(firstReply)) throw new Error(`${v.name}: no reply within 15 s`);
  return { listening, firstReply };
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)];
  return `median ${med.toFixed(1)} ms (min ${s[0].toFixed(1)}, max ${s[s.length - 1].toFixed(1)})`;
}

console.log(`start-up to first accepted connection, ${runs} runs each (${Deno.build.target})`);
for (const v of variants) {
  await once(v); // warm the module cache and the disk
  const first: number[] = [];
  const listen: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await once(v);
    first.push(r.firstReply);
    if (!Number.isNaN(r.listening)) listen.push(r.listening);
  }
  console.log(`${v.name.padEnd(28)} first reply: ${stats(first)}`);
  if (v.logsListening && listen.length > 0) {
    console.log(`${"".padEnd(28)} "listening on" line: ${stats(listen)}`);
  }
}
