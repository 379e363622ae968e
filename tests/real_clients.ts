/**
 * Real protocol clients (redis-cli, psql, curl, memccat, python3, ...) for the end-to-end tests
 * of `examples/`. A test names the clients it needs: a program on PATH (`"psql"`), or a Python
 * library as `"python3:MODULE"` (`"python3:redis"`: the first python3 on PATH that can import
 * it, since Debian's python3-* packages serve /usr/bin/python3 only):
 *
 * - when one is missing locally, the test is registered as ignored and the reason is printed;
 * - with `CI=true` (or `CI=1`) a missing client FAILS the test instead, so CI cannot pass
 *   without proving every example against its client.
 *
 * `.ci/run` installs the Debian packages named in {@linkcode CLIENT_PACKAGES}.
 *
 * @module
 */
import { createLogger, serve, type StreamEchoServer, type Transcript } from "../mod.ts";

/** The Debian package that provides each client (what `.ci/run` installs). */
export const CLIENT_PACKAGES: Readonly<Record<string, string>> = {
  "redis-cli": "redis-tools",
  "redis-benchmark": "redis-tools",
  psql: "postgresql-client",
  curl: "curl",
  memccat: "libmemcached-tools",
  memccp: "libmemcached-tools",
  swaks: "swaks",
  python3: "python3",
  "python3:redis": "python3-redis",
  "python3:pymemcache": "python3-pymemcache",
  "python3:psycopg2": "python3-psycopg2",
  "python3:psycopg": "python3-psycopg",
};

/** True when the environment says this is CI (`CI=true` or `CI=1`). */
export function isCI(): boolean {
  const ci = Deno.env.get("CI")?.trim().toLowerCase();
  return ci === "true" || ci === "1";
}

/** Every executable called `name` on PATH, in PATH order. */
function allOnPath(name: string): string[] {
  const found: string[] = [];
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    const path = `${dir}/${name}`;
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) found.push(path);
    } catch {
      // not in this folder
    }
  }
  return found;
}

const pythonCache = new Map<string, string | undefined>();

/** The first `python` on PATH that can import `module`. */
function pythonWith(python: string, module: string): string | undefined {
  const key = `${python}:${module}`;
  if (pythonCache.has(key)) return pythonCache.get(key);
  let found: string | undefined;
  if (/^[A-Za-z_][\w.]*$/.test(module)) {
    for (const p of allOnPath(python)) {
      const out = new Deno.Command(p, {
        args: ["-c", `import ${module}`],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).outputSync();
      if (out.success) {
        found = p;
        break;
      }
    }
  }
  pythonCache.set(key, found);
  return found;
}

/**
 * The full path of an executable `name` on PATH, or undefined. `"python3:MODULE"` names the
 * first python3 on PATH that can import MODULE.
 */
export function findClient(name: string): string | undefined {
  const colon = name.indexOf(":");
  if (colon > 0) return pythonWith(name.slice(0, colon), name.slice(colon + 1));
  return allOnPath(name)[0];
}

function installHint(names: string[]): string {
  const pkgs = [...new Set(names.map((n) => CLIENT_PACKAGES[n] ?? n))];
  return `apt-get install -y ${pkgs.join(" ")}`;
}

/**
 * Registers a test that needs the real clients `clients`. The test function gets each client's
 * full path. A missing client skips the test (printing why), or fails it under CI.
 */
export function clientTest(
  name: string,
  clients: string[],
  fn: (bin: Record<string, string>) => Promise<void>,
): void {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const c of clients) {
    const p = findClient(c);
    if (p) found[c] = p;
    else missing.push(c);
  }
  if (missing.length > 0 && !isCI()) {
    console.log(
      `skipping "${name}": ${missing.join(", ")} not found on PATH (${installHint(missing)})`,
    );
    Deno.test({ name, ignore: true, fn: () => {} });
    return;
  }
  Deno.test(name, async () => {
    if (missing.length > 0) {
      throw new Error(
        `${missing.join(", ")} not found on PATH, and CI=true needs every real client ` +
          `(${installHint(missing)}; .ci/run does this)`,
      );
    }
    await fn(found);
  });
}

/** What a client process printed and how it ended. */
export interface ClientResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@linkcode runClient}. */
export interface RunClientOptions {
  /** Bytes or text written to the client's stdin, which is then closed. @default {nothing} */
  stdin?: string | Uint8Array;
  /** Extra environment variables. @default {{}} */
  env?: Record<string, string>;
  /** The client is killed after this many milliseconds and the call throws. @default {15000} */
  timeout?: number;
}

/** Runs a client to completion (bounded by a timeout) and collects its output. */
export async function runClient(
  bin: string,
  args: string[],
  options: RunClientOptions = {},
): Promise<ClientResult> {
  const timeout = options.timeout ?? 15_000;
  const signal = AbortSignal.timeout(timeout);
  const child = new Deno.Command(bin, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: options.env ?? {},
    signal,
  }).spawn();
  const writer = child.stdin.getWriter();
  try {
    if (options.stdin !== undefined) {
      const data = typeof options.stdin === "string"
        ? new TextEncoder().encode(options.stdin)
        : options.stdin;
      await writer.write(data);
    }
    await writer.close();
  } catch {
    // the client exited without reading its input; its output says why
  }
  const out = await child.output();
  const result = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
  if (signal.aborted) {
    throw new Error(
      `${bin} ${args.join(" ")} did not finish within ${timeout} ms\n` +
        `stdout: ${result.stdout}\nstderr: ${result.stderr}`,
    );
  }
  return result;
}

/** Runs a Python 3 script (text) with `args`; the script sees them as sys.argv[1:]. */
export async function runPython(
  python3: string,
  script: string,
  args: string[],
  options: RunClientOptions = {},
): Promise<ClientResult> {
  return await runClient(python3, ["-c", script, ...args], options);
}

const EXAMPLES = new URL("../examples/", import.meta.url);

/** A running example with the log lines it wrote, and its TCP port. */
export interface ExampleServer extends AsyncDisposable {
  server: StreamEchoServer;
  port: number;
  /** Log lines (level info and above), for assertion messages. */
  logs: string[];
  /**
   * Every session the example served, once all have ended: stops accepting and waits (at most
   * `timeout` ms) for the sessions in flight, so a second connection a client opened cannot be
   * missed. Call it after the client exited.
   */
  sessions(timeout?: number): Promise<Transcript[]>;
}

/**
 * Serves `examples/NAME` through the library, exactly as written except that every `listen`
 * becomes `127.0.0.1:0`, and returns the port it got.
 */
export async function serveExample(name: string): Promise<ExampleServer> {
  const file = new URL(name, EXAMPLES).pathname;
  const text = Deno.readTextFileSync(file).replace(
    /^(\s*listen\s+)[^;]*;/gm,
    "$1127.0.0.1:0;",
  );
  const logs: string[] = [];
  const server = await serve({
    config: text,
    file,
    logger: createLogger((line) => logs.push(line), { level: "info" }),
  });
  const addr = server.addrs[0] as Deno.NetAddr;
  return {
    server,
    port: addr.port,
    logs,
    async sessions(timeout = 5000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`sessions still running after ${timeout} ms:\n${logs.join("")}`)),
          timeout,
        );
      });
      try {
        await Promise.race([server.shutdown(), late]);
      } finally {
        clearTimeout(timer);
      }
      return server.transcripts();
    },
    async [Symbol.asyncDispose]() {
      await server.close();
    },
  };
}

/** All example file names, for tests that check every one of them. */
export function exampleNames(): string[] {
  return [...Deno.readDirSync(EXAMPLES)]
    .filter((e) => e.isFile && e.name.endsWith(".conf"))
    .map((e) => e.name)
    .sort();
}
