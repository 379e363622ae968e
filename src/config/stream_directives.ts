/**
 * Compile functions of `stream {}`, `server {}` and `listen`, and the end-of-stream step that
 * turns each server scope into a plain {@link ServerConfig}: settings inherited from the
 * stream level, TLS merged, reads checked against the effective `echo_read_buffer_size`.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import { outputAfterShutdown } from "./fault_steps.ts";
import { listenKey, parseListen } from "./listen.ts";
import { mergeLogs } from "./log_directives.ts";
import type { Directive } from "./parser.ts";
import type { Scope, ServerScope, StreamScope } from "./scope.ts";
import { mergeSettings } from "./settings.ts";
import { checkNameRefs } from "./template.ts";
import { mergeTls } from "./tls.ts";
import type { ServerConfig } from "./types.ts";

/** `stream { ... }`: compiles its servers, then merges stream-level settings into them. */
export function compileStream(d: Directive, scope: Scope): void {
  const key = "main:stream";
  if (scope.state.mainSet.has(key)) {
    throw new ConfigError(`"stream" directive is duplicate`, d.pos);
  }
  scope.state.mainSet.add(key);
  const stream: StreamScope = { settings: {}, tls: {}, servers: [], set: new Map() };
  scope.state.walk(d.block ?? [], { context: "stream", state: scope.state, stream });
  for (const server of stream.servers) {
    scope.state.servers.push(finishServer(stream, server, scope));
  }
}

/** `server { ... }` inside `stream {}`. */
export function compileServer(d: Directive, scope: Scope): void {
  const stream = scope.stream as StreamScope;
  const server: ServerScope = {
    pos: d.pos,
    listen: [],
    steps: [],
    settings: {},
    tls: {},
    reads: [],
    pendingRead: 0,
    set: new Map(),
    groupNames: new Set(),
    nameRefs: [],
  };
  scope.state.walk(d.block ?? [], { context: "server", state: scope.state, stream, server });
  if (server.listen.length === 0) {
    throw new ConfigError('no "listen" is defined for server', d.pos);
  }
  checkNameRefs(server);
  scope.state.notices.push(...outputAfterShutdown(server.steps));
  stream.servers.push(server);
}

/** `listen ADDRESS [PARAMS...]`; the same address in two places is an error (port 0 excepted). */
export function compileListen(d: Directive, scope: Scope): void {
  const server = scope.server as ServerScope;
  const { listen, notices } = parseListen(d.args, d.pos);
  for (const message of notices) scope.state.notices.push({ message, pos: d.pos });
  const key = listenKey(listen);
  if (key !== null) {
    const first = scope.state.listenKeys.get(key);
    if (first !== undefined) {
      throw new ConfigError(
        `duplicate "${key}" address and port pair (first used in ${first.file}:${first.line})`,
        d.pos,
      );
    }
    scope.state.listenKeys.set(key, d.pos);
  }
  server.listen.push(listen);
}

function finishServer(stream: StreamScope, server: ServerScope, scope: Scope): ServerConfig {
  const settings = mergeSettings(stream.settings, server.settings);
  const size = settings.readBufferSize;
  for (const read of server.reads) {
    if (read.total <= size) continue;
    const name = "echo_read_buffer_size";
    const at = server.set.get(name) ?? stream.set.get(name);
    const origin = at === undefined ? "the default" : `set in ${at.file}:${at.line}`;
    const named = read.what ?? `"echo_read_bytes ${read.n}"`;
    const what = read.n > size
      ? named
      : `${named}, which brings the unsent reading buffer to ${read.total} bytes`;
    throw new ConfigError(
      `stream echo: echo_read_buffer_size ${size} (${origin}) is too small for ${what}`,
      read.pos,
    );
  }
  const sslListen = server.listen.find((l) => l.ssl)?.pos;
  const tls = mergeTls(scope.state, stream.tls, server.tls, sslListen);
  if (server.steps.length === 0) {
    scope.state.notices.push({
      message: "server has no echo_* directives: it closes every connection at once",
      pos: server.pos,
    });
  }
  const config: ServerConfig = {
    pos: server.pos,
    listen: server.listen,
    steps: server.steps,
    settings,
  };
  if (tls !== undefined) config.tls = tls;
  const logs = mergeLogs(stream.logs, server.logs);
  if (logs.accessLog) config.accessLog = logs.accessLog;
  if (logs.record) config.record = logs.record;
  return config;
}

/** `http {}`, `mail {}`: a clear error, stream-echo serves only the stream subsystem. */
export function compileUnsupportedBlock(d: Directive): void {
  throw new ConfigError(
    `the "${d.name}" block is not supported: stream-echo serves only the "stream" subsystem`,
    d.pos,
  );
}
