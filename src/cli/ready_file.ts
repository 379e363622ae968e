/**
 * `--ready-file PATH`: once every listener is bound, the bound addresses (port 0 resolved) as
 * one JSON object, written atomically (a temporary file in the same folder, then a rename), so a
 * script that sees the file can read it whole and connect at once.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { openFailed } from "../config/os_error.ts";
import type { Listen } from "../config/types.ts";

/** One bound listener as the ready file describes it. */
export type ReadyListener =
  | { transport: "tcp" | "tls"; hostname: string; port: number; listen: string }
  | { transport: "unix"; path: string; listen: string };

/** The ready file's content. */
export interface ReadyFile {
  /** The server's process id. */
  pid: number;
  /** Every listener in config order (servers, then their `listen` lines). */
  listeners: ReadyListener[];
}

/**
 * Describes bound addresses, `addrs[i]` being the socket of `listens[i]`: `tls` for a TCP
 * listener with `ssl`, `tcp` for one without, `unix` for a Unix socket.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readyListeners } from "./ready_file.ts";
 * const got = readyListeners(
 *   [{ transport: "tcp", hostname: "127.0.0.1", port: 41234 }],
 *   [{ kind: "tcp", address: "127.0.0.1:0", hostname: "127.0.0.1", port: 0, ssl: true,
 *      reusePort: false, pos: { file: "se.conf", line: 3 } }],
 * );
 * assert.deepEqual(got, [
 *   { transport: "tls", hostname: "127.0.0.1", port: 41234, listen: "127.0.0.1:0" },
 * ]);
 * ```
 */
export function readyListeners(
  addrs: readonly Deno.Addr[],
  listens: readonly Listen[],
): ReadyListener[] {
  return addrs.map((addr, i) => {
    const ssl = listens[i]?.ssl ?? false;
    const listen = listens[i]?.address ?? "";
    if (addr.transport === "tcp" || addr.transport === "udp") {
      return { transport: ssl ? "tls" : "tcp", hostname: addr.hostname, port: addr.port, listen };
    }
    const path = "path" in addr ? addr.path ?? "" : "";
    return ssl
      ? { transport: "unix", path, tls: true, listen }
      : { transport: "unix", path, listen };
  });
}

/** The temporary file beside `path` that is renamed over it. */
function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${Deno.pid}.tmp`);
}

/** The ready file cannot be written: a start-up error naming the flag. */
export class ReadyFileError extends Error {
  /** `path` is the file; `cause` what the OS said. */
  constructor(path: string, cause: unknown) {
    super(`${openFailed(path, cause)} for --ready-file`, { cause });
    this.name = "ReadyFileError";
  }
}

/**
 * Writes `content` to `path` atomically: into `.PATH.PID.tmp` beside it, then renamed over it.
 * Throws {@linkcode ReadyFileError} when it cannot (the temporary file is removed).
 */
export function writeReadyFile(path: string, content: ReadyFile): void {
  const tmp = tempName(path);
  try {
    Deno.writeTextFileSync(tmp, JSON.stringify(content) + "\n");
    Deno.renameSync(tmp, path);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch { /* never written */ }
    throw new ReadyFileError(path, err);
  }
}

/**
 * Checks at start, before anything is bound, that a ready file can be written beside `path`
 * (writes and removes the temporary file). Throws {@linkcode ReadyFileError} when not, so a
 * harness waiting for the file gets an error and exit code 1 instead of waiting forever.
 */
export function checkReadyFile(path: string): void {
  const tmp = tempName(path);
  try {
    Deno.writeTextFileSync(tmp, "");
    Deno.removeSync(tmp);
  } catch (err) {
    throw new ReadyFileError(path, err);
  }
}

/** Removes the ready file at exit (a stale one would send the next script to a dead port). */
export function removeReadyFile(path: string): void {
  try {
    Deno.removeSync(path);
  } catch { /* already gone */ }
}
