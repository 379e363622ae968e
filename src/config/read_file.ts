/**
 * Reading the files a config names (the main file, includes, certificates) as bytes, safely:
 * only regular files are read (a directory, FIFO, socket or device such as `/dev/zero` is
 * refused after `fstat`, before any read; the file is opened non-blocking so that a FIFO
 * cannot stall the open either), and all files one load reads together are bounded by
 * {@link MAX_CONFIG_BYTES}, so neither `check` nor a reload can grow memory without end.
 *
 * @module
 */

import fs from "node:fs";
import { showPath } from "./bytes.ts";

/** All files one config load reads (main file, includes, certificates), together: 64 MiB. */
export const MAX_CONFIG_BYTES = 64 * 1024 * 1024;

/**
 * A file a config names that is not read: not a regular file, too large, or the operating
 * system's error opening it (then `cause` is that error). The message names the file and
 * says why, e.g. `"/dev/zero" is not a regular file (a character device)`.
 */
export class ConfigFileError extends Error {
  /** The path as given to the reader. */
  readonly path: string;
  #words: (shownPath: string) => string;

  /** `words(path)` says what is wrong with the file named `path`. */
  constructor(words: (shownPath: string) => string, path: string, options?: ErrorOptions) {
    super(words(showPath(path)), options);
    this.name = "ConfigFileError";
    this.path = path;
    this.#words = words;
  }

  /** The message with the file named as `path` (e.g. its absolute form). */
  about(path: string): string {
    return this.#words(showPath(path));
  }
}

/** Tracks the bytes a load has read so far, against {@link MAX_CONFIG_BYTES}. */
export class ReadBudget {
  #left: number;
  readonly limit: number;

  /** A budget of `limit` bytes. */
  constructor(limit: number = MAX_CONFIG_BYTES) {
    this.limit = limit;
    this.#left = limit;
  }

  /** Bytes that may still be read. */
  get left(): number {
    return this.#left;
  }

  /** Counts `n` bytes read from `path`; throws {@link ConfigFileError} past the limit. */
  charge(path: string, n: number): void {
    if (n > this.#left) throw tooLarge(path, this.limit);
    this.#left -= n;
  }
}

/** `64 MiB` for whole mebibytes, else `N bytes`. */
export function mib(n: number): string {
  return n % (1024 * 1024) === 0 ? `${n / 1024 / 1024} MiB` : `${n} bytes`;
}

function tooLarge(path: string, limit: number): ConfigFileError {
  const words = (p: string) =>
    `"${p}" is too large: a config and the files it reads may hold ${mib(limit)} together`;
  return new ConfigFileError(words, path);
}

function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/** What is wrong with a file that is not regular, e.g. `is a directory, not a file`. */
function notRegular(path: string, st: fs.Stats): ConfigFileError {
  const kind = kindOf(st);
  const why = kind === "a directory"
    ? "is a directory, not a file"
    : `is not a regular file (${kind})`;
  return new ConfigFileError((p) => `"${p}" ${why}`, path);
}

/**
 * Reads a regular file's bytes, at most `budget.left` of them (charged to `budget`).
 * Throws {@link ConfigFileError} for anything else: not a regular file (checked with `fstat`
 * before reading), too large, or an OS error (its `cause`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigFileError, ReadBudget, readConfigBytes } from "./read_file.ts";
 * assert.throws(() => readConfigBytes("/dev/zero", new ReadBudget()), ConfigFileError);
 * ```
 */
export function readConfigBytes(path: string, budget: ReadBudget): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    const why = osReason(err);
    throw new ConfigFileError((p) => `open() "${p}" failed (${why})`, path, { cause: err });
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw notRegular(path, st);
    const limit = budget.left;
    if (st.size > limit) throw tooLarge(path, budget.limit);
    // the file may grow while it is read: read at most one byte past the limit
    let buf = new Uint8Array(Math.min(st.size, limit) + 1);
    let used = 0;
    for (;;) {
      if (used === buf.length) {
        if (used > limit) throw tooLarge(path, budget.limit);
        const bigger = new Uint8Array(Math.min(buf.length * 2, limit + 1));
        bigger.set(buf);
        buf = bigger;
      }
      let n: number;
      try {
        n = fs.readSync(fd, buf, used, buf.length - used, null);
      } catch (err) {
        const why = osReason(err);
        throw new ConfigFileError((p) => `read() "${p}" failed (${why})`, path, { cause: err });
      }
      if (n === 0) break;
      used += n;
    }
    if (used > limit) throw tooLarge(path, budget.limit);
    budget.charge(path, used);
    return buf.subarray(0, used);
  } finally {
    fs.closeSync(fd);
  }
}

const NODE_REASONS: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EPERM: "Operation not permitted",
  EISDIR: "Is a directory",
  ENOTDIR: "Not a directory",
  ELOOP: "Too many levels of symbolic links",
  ENAMETOOLONG: "File name too long",
  EMFILE: "Too many open files",
  ENFILE: "Too many open files in system",
  EIO: "Input/output error",
  ENXIO: "No such device or address",
};

/** The strerror-like words of an OS error from node:fs (or any other error's message). */
export function osReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && NODE_REASONS[code] !== undefined) return NODE_REASONS[code];
  if (err instanceof Error) {
    // node:fs: "ENOENT: no such file or directory, open '/x'"
    const m = /^[A-Z]+: (.*?), \w+ /.exec(err.message);
    if (m) return m[1][0].toUpperCase() + m[1].slice(1);
    return err.message;
  }
  return String(err);
}
