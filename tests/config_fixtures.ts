/**
 * Shared helpers of the config tests: wrapping directives in a server, catching the
 * ConfigError a config must raise, and an in-memory file system for includes and certificates.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConfigError } from "../src/config/errors.ts";
import type { GlobEntry } from "../src/config/glob.ts";
import { parseConfig, type ParseConfigOptions } from "../src/config/loader.ts";
import type { Config, ServerConfig } from "../src/config/types.ts";

/** `stream { server { listen 0; BODY } }` on one line, so every error is on line 1. */
export function inServer(body: string, streamLevel = ""): string {
  return `stream { ${streamLevel} server { listen 0; ${body} } }`;
}

/** Compiles `text` and returns its only server. */
export function onlyServer(text: string, options?: ParseConfigOptions): ServerConfig {
  const config = parseConfig(text, options);
  assert.equal(config.servers.length, 1);
  return config.servers[0];
}

/** Compiles `text`, asserting it fails with a ConfigError; returns the error. */
export function configError(text: string, options?: ParseConfigOptions): ConfigError {
  try {
    parseConfig(text, options);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail(`expected a ConfigError for: ${text}`);
}

/** Compiles `text` and returns its notices' messages. */
export function noticesOf(text: string, options?: ParseConfigOptions): string[] {
  return parseConfig(text, options).notices.map((n) => n.message);
}

/** Decodes bytes as UTF-8. */
export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** An in-memory file system: paths (absolute, "/"-separated) to contents. */
export function memoryFs(files: Record<string, string>): {
  readFile: (path: string) => string;
  listDir: (path: string) => GlobEntry[];
} {
  const readFile = (path: string): string => {
    const content = files[path];
    if (content === undefined) throw new Deno.errors.NotFound(`no file ${path}`);
    return content;
  };
  const listDir = (path: string): GlobEntry[] => {
    const prefix = path.endsWith("/") ? path : path + "/";
    const names = new Map<string, boolean>();
    for (const file of Object.keys(files)) {
      if (!file.startsWith(prefix)) continue;
      const rest = file.slice(prefix.length);
      const slash = rest.indexOf("/");
      names.set(slash < 0 ? rest : rest.slice(0, slash), slash >= 0);
    }
    if (names.size === 0) throw new Deno.errors.NotFound(`no folder ${path}`);
    return [...names].map(([name, isDirectory]) => ({ name, isDirectory }));
  };
  return { readFile, listDir };
}

export type { Config };
