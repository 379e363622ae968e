/**
 * Loading a config: text (or a file) through lexer, parser and compiler into a plain
 * {@link Config}. Bad text only ever throws {@link ConfigError}, with file and line.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { compile } from "./compile.ts";
import { ConfigError } from "./errors.ts";
import type { GlobEntry } from "./glob.ts";
import { parse } from "./parser.ts";
import { openFailed } from "./os_error.ts";
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
   * Reads an included file or a certificate.
   * @default {Deno.readTextFileSync}
   */
  readFile?: (path: string) => string;
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

/**
 * Parses and compiles config text. Synchronous; throws only {@link ConfigError} for bad text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./loader.ts";
 * const config = parseConfig("stream { server { listen 0; echo hello; } }");
 * assert.ok(new TextDecoder().decode((config.servers[0].steps[0] as { data: Uint8Array }).data) === "hello\n");
 * ```
 */
export function parseConfig(text: string, options: ParseConfigOptions = {}): Config {
  const file = options.file ?? "<config>";
  const baseDir = options.baseDir ?? dirname(file);
  const source = {
    baseDir,
    readFile: options.readFile ?? ((path: string) => Deno.readTextFileSync(path)),
    listDir: options.listDir ?? defaultListDir,
  };
  const tree = parse(text, file);
  return compile(tree, { file, fileKey: resolve(file), source });
}

/**
 * Reads a config file and compiles it; includes and certificates are resolved against the
 * file's folder. A file that cannot be read is a {@link ConfigError} too.
 *
 * @example
 * ```ts ignore
 * import { loadConfig } from "./loader.ts";
 * const config = loadConfig("/etc/stream-echo/se.conf");
 * ```
 */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    throw new ConfigError(openFailed(path, err), {
      file: path,
      line: 1,
    });
  }
  return parseConfig(text, { file: path });
}
