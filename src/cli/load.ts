/**
 * Loading the config for the CLI: a file, or the built-in default.
 *
 * @module
 */
import type { Config } from "../config/types.ts";
import { ConfigError } from "../config/errors.ts";
import { loadConfig, parseConfig } from "../config/loader.ts";
import { openFailed } from "../config/os_error.ts";
import { ConfigFileError } from "../config/read_file.ts";
import { resolve } from "node:path";
import { DEFAULT_CONFIG, DEFAULT_CONFIG_NAME } from "./default_config.ts";

/** The config file itself cannot be read (missing, a directory, no permission). */
export class ConfigReadError extends Error {
  /** `cause` is the error reading `path` gave. The message names the absolute path. */
  constructor(path: string, cause: unknown) {
    const full = resolve(path);
    super(cause instanceof ConfigFileError ? cause.about(full) : openFailed(full, cause), {
      cause,
    });
    this.name = "ConfigReadError";
  }
}

/**
 * Loads `path`, or the built-in default when `path` is undefined. Throws `ConfigError` for bad
 * text (with file:line) and {@linkcode ConfigReadError} when the main file cannot be read.
 */
export function loadCliConfig(path: string | undefined): Config {
  if (path === undefined) return parseConfig(DEFAULT_CONFIG, { file: DEFAULT_CONFIG_NAME });
  try {
    Deno.statSync(path);
  } catch (err) {
    throw new ConfigReadError(path, err);
  }
  try {
    return loadConfig(path);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigReadError(path, err);
  }
}
