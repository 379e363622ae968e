/**
 * Spawning the CLI under test. The command comes from `STREAM_ECHO_CMD` (split on spaces), so
 * the same tests run against `deno run cli.ts`, a bundle, or a compiled binary; by default it is
 * `deno run` of this repo's cli.ts with exactly the compiled binary's permissions. Every CLI
 * process runs in a fresh temporary directory, so nothing can lean on project files.
 *
 * @module
 */

/** The permissions the compiled binary is built with (read from `deno task compile`). */
export { BINARY_PERMISSIONS } from "./binary_permissions.ts";
import { BINARY_PERMISSIONS } from "./binary_permissions.ts";

const CLI_PATH = new URL("../cli.ts", import.meta.url).pathname;

/** The command line that runs the CLI under test. */
export function cliCommand(): string[] {
  const fromEnv = Deno.env.get("STREAM_ECHO_CMD")?.trim();
  if (fromEnv) return fromEnv.split(/\s+/);
  return [Deno.execPath(), "run", ...BINARY_PERMISSIONS, CLI_PATH];
}

/** A temporary directory removed on dispose. */
export class TempDir implements Disposable {
  readonly path: string = Deno.makeTempDirSync({ prefix: "stream-echo-e2e-" });

  /** Writes `text` to `name` inside the directory and returns the full path. */
  write(name: string, text: string): string {
    const p = `${this.path}/${name}`;
    Deno.writeTextFileSync(p, text);
    return p;
  }

  /** Full path of `name` inside the directory. */
  file(name: string): string {
    return `${this.path}/${name}`;
  }

  [Symbol.dispose](): void {
    Deno.removeSync(this.path, { recursive: true });
  }
}

/** Options for {@linkcode CliProcess}. */
export interface CliProcessOptions {
  /** Working directory of the CLI. */
  cwd: string;
  /** Run under `ulimit -n N` (via `sh`), to provoke EMFILE. @default {undefined} */
  maxOpenFiles?: number;
}

/** A running CLI process whose stdout and stderr are collected as they arrive. */
export class CliProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  #stdout = "";
  #stderr = "";
  #waiters = new Set<() => void>();
  readonly #pumps: Promise<void>;
  /** Resolves with the exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /** When the process was spawned (performance.now()). */
  readonly startedAt: number;

  constructor(args: readonly string[], options: CliProcessOptions) {
    let [cmd, ...pre] = cliCommand();
    if (options.maxOpenFiles !== undefined) {
      pre = ["-c", `ulimit -n ${options.maxOpenFiles} && exec "$@"`, "sh", cmd, ...pre];
      cmd = "sh";
    }
    this.startedAt = performance.now();
    this.#child = new Deno.Command(cmd, {
      args: [...pre, ...args],
      cwd: options.cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.status = this.#child.status;
    this.#pumps = Promise.all([
      this.#pump(this.#child.stdout, (t) => this.#stdout += t),
      this.#pump(this.#child.stderr, (t) => this.#stderr += t),
    ]).then(() => {});
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Everything written to stdout so far. */
  get stdout(): string {
    return this.#stdout;
  }

  /** Everything written to stderr so far (the default error log). */
  get stderr(): string {
    return this.#stderr;
  }

  async #pump(stream: ReadableStream<Uint8Array>, add: (t: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      add(decoder.decode(chunk, { stream: true }));
      for (const w of [...this.#waiters]) w();
    }
    for (const w of [...this.#waiters]) w();
  }

  /**
   * Waits until stderr matches `pattern` (checked on every new output) and returns the match.
   * Rejects after `timeout` ms or when the process exits first, quoting what it printed.
   */
  async waitFor(pattern: RegExp, timeout = 10_000): Promise<RegExpMatchArray> {
    let m: RegExpMatchArray | null = null;
    await this.waitUntil(
      () => (m = this.#stderr.match(pattern)) !== null,
      String(pattern),
      timeout,
    );
    return m!;
  }

  /** Waits until `ready()` holds, re-checking on every new output. */
  async waitUntil(ready: () => boolean, what: string, timeout = 10_000): Promise<void> {
    let exited = false;
    const done = this.status.then(() => exited = true);
    const deadline = Date.now() + timeout;
    for (;;) {
      if (ready()) return;
      if (exited) {
        await this.#pumps;
        if (ready()) return;
        throw new Error(`process exited before ${what}; stderr:\n${this.#stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; stderr:\n${this.#stderr}`);
      let wake!: () => void;
      const woken = new Promise<void>((r) => wake = r);
      this.#waiters.add(wake);
      const timer = setTimeout(wake, left);
      await Promise.race([woken, done]);
      clearTimeout(timer);
      this.#waiters.delete(wake);
    }
  }

  /** Every address from "listening on ADDR" lines so far (start, then each reload). */
  listenLines(): string[] {
    return [...this.#stderr.matchAll(/listening on (\S+)/g)].map((m) => m[1]);
  }

  /** Waits until at least `n` "listening on" lines were logged; returns the first `n`. */
  async listening(n = 1, timeout = 10_000): Promise<string[]> {
    await this.waitUntil(() => this.listenLines().length >= n, `${n} listening lines`, timeout);
    return this.listenLines().slice(0, n);
  }

  /** The TCP port of the first listener (waits for its line). */
  async port(timeout = 10_000): Promise<number> {
    const [addr] = await this.listening(1, timeout);
    return portOf(addr);
  }

  /** Sends a signal (ignored if the process is gone). */
  kill(signal: Deno.Signal): void {
    try {
      this.#child.kill(signal);
    } catch { /* already exited */ }
  }

  /** Waits for exit and all output; returns the status. */
  async exited(): Promise<Deno.CommandStatus> {
    const status = await this.status;
    await this.#pumps;
    return status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.kill("SIGKILL");
    await this.exited();
  }
}

/** The port of a logged address such as `127.0.0.1:4000` or `[::1]:4000`. */
export function portOf(addr: string): number {
  return Number(addr.slice(addr.lastIndexOf(":") + 1));
}

/** Runs the CLI to completion with `args` in `cwd`; returns code, stdout and stderr. */
export async function runCli(
  args: readonly string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  await using p = new CliProcess(args, { cwd });
  const status = await p.exited();
  return { code: status.code, stdout: p.stdout, stderr: p.stderr };
}

/** Connects, optionally sends `request`, and reads until the server closes. */
export async function exchange(
  target: Deno.ConnectOptions | (Deno.UnixConnectOptions & { transport: "unix" }),
  request?: string,
): Promise<string> {
  const conn = await Deno.connect(target as Deno.ConnectOptions);
  return await talk(conn, request);
}

/** How long {@linkcode talk} waits for the server to close before it gives up, in ms. */
const TALK_DEADLINE_MS = 30_000;

/**
 * Sends `request` (if any) over `conn`, then reads until EOF and closes. A server that never
 * closes fails the test after 30 s instead of hanging the whole run.
 */
export async function talk(conn: Deno.Conn, request?: string): Promise<string> {
  let late = false;
  const timer = setTimeout(() => {
    late = true;
    try {
      conn.close();
    } catch { /* already closed */ }
  }, TALK_DEADLINE_MS);
  try {
    return await talkUntilEof(conn, request);
  } catch (err) {
    if (late) throw new Error(`the server did not close within ${TALK_DEADLINE_MS} ms`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

async function talkUntilEof(conn: Deno.Conn, request?: string): Promise<string> {
  if (request !== undefined) {
    const bytes = new TextEncoder().encode(request);
    let off = 0;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
  }
  return new TextDecoder().decode(await readToEnd(conn));
}

/** Reads `conn` until the server closes, then closes it; returns every byte received. */
export async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } finally {
    conn.close();
  }
  return concat(chunks);
}

/** Waits for `p` to exit, failing (with its stderr) after `ms`: a stop never hangs a test. */
export async function exitedWithin(p: CliProcess, ms = 10_000): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(
      () => reject(new Error(`no exit within ${ms} ms; stderr:\n${p.stderr}`)),
      ms,
    )
  );
  try {
    return await Promise.race([p.exited(), late]);
  } finally {
    clearTimeout(timer);
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** A config with one server on 127.0.0.1:0 (or the given listen lines) and `body`. */
export function oneServer(body: string, listen = "listen 127.0.0.1:0;"): string {
  return `stream {\n    server {\n        ${listen}\n        ${body}\n    }\n}\n`;
}
