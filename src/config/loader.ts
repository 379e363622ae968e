/**
 * Loading a config: bytes (a file, or text UTF-8 encoded) through lexer, parser and compiler
 * into a plain {@link Config}. Config text is held as a binary string (one character per
 * byte, see `bytes.ts`), so every argument byte reaches the client as written. Bad text only
 * ever throws {@link ConfigError}, with file and line.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { bytesToBinary, textToBinary } from "./bytes.ts";
import { compile } from "./compile.ts";
import { ConfigError } from "./errors.ts";
import type { GlobEntry } from "./glob.ts";
import { parse } from "./parser.ts";
import { MAX_CONFIG_BYTES, mib, ReadBudget, readConfigBytes } from "./read_file.ts";
import type { Config } from "./types.ts";

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /**
   * The file name used in error positions and {@link Config.file}.
   * @default {"<config>"}
   */
  file?: string;
  /**
   * The folder `include` and certificate paths are resolved against.
   * @default {dirname(file)}
   */
  baseDir?: string;
  /**
   * Reads an included file or a certificate: text (UTF-8 encoded before use) or bytes.
   * @default {reads regular files only, as bytes}
   */
  readFile?: (path: string) => string | Uint8Array;
  /**
   * Lists a folder, for `include` globs.
   * @default {Deno.readDirSync, following symbolic links}
   */
  listDir?: (path: string) => GlobEntry[];
}

/** Lists a folder with Deno, telling folders from files through symbolic links too. */
export function defaultListDir(path: string): GlobEntry[] {
  const out: GlobEntry[] = [];
  for (const entry of Deno.readDirSync(path)) {
    let isDirectory = entry.isDirectory;
    if (entry.isSymlink) {
      try {
        isDirectory = Deno.statSync(`${path}/${entry.name}`).isDirectory;
      } catch {
        continue;
      }
    }
    out.push({ name: entry.name, isDirectory });
  }
  return out;
}

const BOM = "\xef\xbb\xbf";

/** A file's bytes as a binary string, without a leading UTF-8 byte order mark. */
function fileBinary(bytes: Uint8Array): string {
  const binary = bytesToBinary(bytes);
  return binary.startsWith(BOM) ? binary.slice(3) : binary;
}

/**
 * Parses and compiles config text or bytes. Text (a JS string) is UTF-8 encoded first; bytes
 * are taken as they are. Synchronous; throws only {@link ConfigError} for bad text. The
 * config and every file it reads are at most {@link MAX_CONFIG_BYTES} together.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./loader.ts";
 * const config = parseConfig(new Uint8Array([...new TextEncoder().encode("stream { server { listen 0; echo "), 0xff, 0x3b, 0x7d, 0x7d]));
 * assert.deepEqual((config.servers[0].steps[0] as { data: Uint8Array }).data, new Uint8Array([0xff, 0x0a]));
 * ```
 */
export function parseConfig(text: string | Uint8Array, options: ParseConfigOptions = {}): Config {
  const file = options.file ?? "<config>";
  const binary = typeof text === "string" ? textToBinary(text) : bytesToBinary(text);
  const budget = new ReadBudget();
  if (binary.length > budget.left) {
    throw new ConfigError(
      `the config is too large: a config and the files it reads may hold ${
        mib(MAX_CONFIG_BYTES)
      } together`,
      { file, line: 1 },
    );
  }
  budget.charge(file, binary.length);
  return parseBinary(binary, file, options, budget);
}

function parseBinary(
  binary: string,
  file: string,
  options: ParseConfigOptions,
  budget: ReadBudget,
): Config {
  const baseDir = options.baseDir ?? dirname(file);
  const userRead = options.readFile;
  const readFile = userRead === undefined
    ? (path: string) => fileBinary(readConfigBytes(path, budget))
    : (path: string) => {
      const got = userRead(path);
      const binary = typeof got === "string" ? textToBinary(got) : bytesToBinary(got);
      budget.charge(path, binary.length);
      return binary;
    };
  const source = { baseDir, readFile, listDir: options.listDir ?? defaultListDir };
  const tree = parse(binary, file);
  return compile(tree, { file, fileKey: resolve(file), source });
}

/**
 * Reads a config file (as bytes: only a regular file) and compiles it; includes and
 * certificates are resolved against the file's folder. Throws `ConfigFileError` when the
 * file itself cannot be read (missing, a directory, a device, too large: no line to name),
 * and {@link ConfigError} for bad text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfig } from "./loader.ts";
 * const path = Deno.makeTempFileSync({ suffix: ".conf" });
 * Deno.writeTextFileSync(path, "stream { server { listen 127.0.0.1:0; echo hi; } }\n");
 * const config = loadConfig(path);
 * assert.equal(config.servers.length, 1);
 * assert.equal(config.servers[0].listen.length, 1);
 * Deno.removeSync(path);
 * ```
 */
export function loadConfig(path: string): Config {
  const budget = new ReadBudget();
  const binary = fileBinary(readConfigBytes(path, budget));
  return parseBinary(binary, path, {}, budget);
}
