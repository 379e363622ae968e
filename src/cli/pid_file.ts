/**
 * The pid file: written at start, removed at exit (only if it still holds our pid).
 *
 * @module
 */
import { openFailed } from "../config/os_error.ts";
import type { Position } from "../config/types.ts";

/** A pid file that cannot be written: a startup error. */
export class PidFileError extends Error {
  /** `pos` is the `pid` directive; absent means the `--pid` flag. */
  constructor(path: string, cause: unknown, pos?: Position) {
    super(
      openFailed(path, cause) +
        (pos ? ` for "pid" in ${pos.file}:${pos.line}` : " for --pid"),
      { cause },
    );
    this.name = "PidFileError";
  }
}

/** A written pid file. */
export interface PidFile {
  /** Where it was written. */
  readonly path: string;
  /** Removes the file if it still holds this process's pid. Idempotent. */
  remove(): void;
}

/**
 * Writes `pid` and a newline to `path` (replacing what was there, as nginx does).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writePidFile } from "./pid_file.ts";
 * const path = Deno.makeTempFileSync();
 * const pid = writePidFile(path, { pid: 42 });
 * assert.equal(Deno.readTextFileSync(path), "42\n");
 * pid.remove();
 * ```
 */
export function writePidFile(
  path: string,
  options: { pid?: number; pos?: Position } = {},
): PidFile {
  const pid = options.pid ?? Deno.pid;
  try {
    Deno.writeTextFileSync(path, `${pid}\n`);
  } catch (err) {
    throw new PidFileError(path, err, options.pos);
  }
  let removed = false;
  return {
    path,
    remove() {
      if (removed) return;
      removed = true;
      try {
        if (Deno.readTextFileSync(path).trim() === String(pid)) Deno.removeSync(path);
      } catch { /* gone already */ }
    },
  };
}
