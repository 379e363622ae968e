/**
 * Turns what a library user passes (`{ config }` or `{ server }`) into a compiled Config.
 *
 * @module
 */
import type { Config } from "../config/types.ts";
import { ConfigError } from "../config/errors.ts";
import { parseConfig } from "../config/loader.ts";

/**
 * Full config text, as in a config file.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ConfigSource, serve } from "@stream-echo/stream-echo";
 *
 * const source: ConfigSource = {
 *   config: "stream { server { listen 127.0.0.1:0; echo hi; } }",
 *   file: "mock.conf",
 * };
 * await using server = await serve(source);
 * assert.equal(server.addrs.length, 1);
 * ```
 */
export interface ConfigSource {
  /** Config text with `stream { server { listen ...; ... } }`. */
  config: string;
  /** Not with `config`: give one or the other. */
  server?: never;
  /** Name used in error messages, and (by default) the folder includes are resolved against. @default {"<config>"} */
  file?: string;
  /** Folder that `include` and certificate paths are resolved against. @default {dirname of file} */
  baseDir?: string;
}

/**
 * The body of one `server {}` block; it listens on 127.0.0.1 on a free port.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve, type ServerBodySource } from "@stream-echo/stream-echo";
 *
 * const source: ServerBodySource = { server: "echo_read_line;\necho ok;", file: "ok.body" };
 * await using server = await serve(source);
 * assert.equal(server.addrs[0].hostname, "127.0.0.1");
 * ```
 */
export interface ServerBodySource {
  /** Directives of one server, e.g. `echo_read_line; echo "+OK";` (no `listen`). */
  server: string;
  /** Not with `server`: give one or the other. */
  config?: never;
  /** Name used in error messages. @default {"<server>"} */
  file?: string;
  /** Folder that `include` paths are resolved against. @default {dirname of file} */
  baseDir?: string;
}

/**
 * Where a server's config comes from: full text, or one server's body. `reload()` takes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve, type ServeSource } from "@stream-echo/stream-echo";
 *
 * await using server = await serve({ server: "echo v1;" });
 * const next: ServeSource = { server: "echo v2;" };
 * await server.reload(next);
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addrs[0].port });
 * assert.equal(await new Response(conn.readable).text(), "v2\n");
 * ```
 */
export type ServeSource = ConfigSource | ServerBodySource;

/**
 * The text put around a server body. It all goes on the body's first line, so line N of the
 * body is line N of the config and error positions point at the user's own text.
 */
const BODY_PREFIX = "stream { server { listen 127.0.0.1:0; ";
const BODY_SUFFIX = "\n} }\n";

/**
 * Parses and compiles a source; throws ConfigError for bad text, TypeError for bad options.
 * `caller` (`serve()`, `reload()`) names the call in those TypeErrors.
 */
export function compileSource(source: ServeSource, caller = "serve()"): Config {
  if (typeof source !== "object" || source === null) {
    throw new TypeError(
      `${caller} needs an options object, { server: "echo hi;" } or { config: "stream { ... }" }, ` +
        `got ${source === null ? "null" : typeof source}`,
    );
  }
  const hasConfig = typeof source.config === "string";
  const hasServer = typeof source.server === "string";
  if (hasConfig === hasServer) {
    throw new TypeError(
      `${caller} needs exactly one of { config: string } (full config text) or ` +
        "{ server: string } (the body of one server block)",
    );
  }
  const options: { file?: string; baseDir?: string } = {};
  if (source.baseDir !== undefined) options.baseDir = source.baseDir;
  if (hasConfig) {
    if (source.file !== undefined) options.file = source.file;
    return parseConfig(source.config!, options);
  }
  const file = options.file = source.file ?? "<server>";
  const body = source.server!;
  let config: Config;
  try {
    config = parseConfig(BODY_PREFIX + body + BODY_SUFFIX, options);
  } catch (err) {
    throw atBodyEnd(err, file, body);
  }
  checkBody(config);
  return config;
}

/**
 * An error found in the text we appended (the closing braces: an unterminated directive, quote
 * or block in the body) is moved to the body's last line, saying so.
 */
function atBodyEnd(err: unknown, file: string, body: string): unknown {
  if (!(err instanceof ConfigError) || err.file !== file) return err;
  const lines = body.split("\n").length;
  if (err.line <= lines) return err;
  return new ConfigError(`${err.reason} at the end of the server body`, { file, line: lines }, {
    cause: err,
    ...(err.hint === undefined ? {} : { hint: err.hint }),
  });
}

/** A body must stay one server with only the listener we gave it. */
function checkBody(config: Config): void {
  const extraServer = config.servers[1];
  if (extraServer) {
    throw new ConfigError(
      'a server body cannot close its block and open another "server"; use { config }',
      extraServer.pos,
    );
  }
  const extraListen = config.servers[0]?.listen[1];
  if (extraListen) {
    throw new ConfigError(
      '"listen" directive is not allowed in a server body (it listens on 127.0.0.1:0); ' +
        "use { config } to choose listeners",
      extraListen.pos,
    );
  }
}
