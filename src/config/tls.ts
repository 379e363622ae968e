/**
 * `ssl_certificate` and `ssl_certificate_key` (stream and server level). As in nginx, the
 * files matter only for servers with a `listen ... ssl`: for those they are read at load
 * time, so a missing, unreadable or non-PEM file is a config error at the directive's file
 * and line, and a reload re-reads them.
 *
 * @module
 */

import { binaryToText, showPath } from "./bytes.ts";
import { ConfigError } from "./errors.ts";
import { describeError } from "./os_error.ts";
import { resolvePath } from "./main_directives.ts";
import type { Directive } from "./parser.ts";
import { ConfigFileError } from "./read_file.ts";
import type { CompileState, Scope, TlsFileRef, TlsPartial } from "./scope.ts";
import type { Position, TlsSettings } from "./types.ts";

const PEM_CERT = /-----BEGIN [A-Z0-9 ]*CERTIFICATE-----/;
const PEM_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

function read(state: CompileState, ref: TlsFileRef, what: "certificate" | "certificate key") {
  let text = state.fileCache.get(ref.path);
  if (text === undefined) {
    try {
      text = binaryToText(state.source.readFile(ref.path));
    } catch (err) {
      const why = err instanceof ConfigFileError ? err.message : describeError(err);
      throw new ConfigError(`cannot load ${what} "${showPath(ref.path)}": ${why}`, ref.pos);
    }
    state.fileCache.set(ref.path, text);
  }
  const pem = what === "certificate" ? PEM_CERT : PEM_KEY;
  if (!pem.test(text)) {
    const kind = what === "certificate" ? "CERTIFICATE" : "PRIVATE KEY";
    throw new ConfigError(
      `cannot load ${what} "${showPath(ref.path)}": no PEM "${kind}" block found`,
      ref.pos,
    );
  }
  return text;
}

function block(d: Directive, scope: Scope): TlsPartial {
  const tls = (scope.server ?? scope.stream)?.tls;
  if (tls === undefined) throw new ConfigError(`"${d.name}" directive is not allowed here`, d.pos);
  return tls;
}

/** `ssl_certificate FILE`. */
export function compileSslCertificate(d: Directive, scope: Scope): void {
  const tls = block(d, scope);
  if (tls.cert !== undefined) throw new ConfigError(`"${d.name}" directive is duplicate`, d.pos);
  tls.cert = { path: resolvePath(scope, binaryToText(d.args[0])), pos: d.pos };
}

/** `ssl_certificate_key FILE`. */
export function compileSslCertificateKey(d: Directive, scope: Scope): void {
  const tls = block(d, scope);
  if (tls.key !== undefined) throw new ConfigError(`"${d.name}" directive is duplicate`, d.pos);
  tls.key = { path: resolvePath(scope, binaryToText(d.args[0])), pos: d.pos };
}

/**
 * A server's TLS settings from its own and the stream level's directives, with the PEM files
 * read; `undefined` when no listener uses `ssl` (`sslListen` is where the first one is).
 */
export function mergeTls(
  state: CompileState,
  stream: TlsPartial,
  server: TlsPartial,
  sslListen: Position | undefined,
): TlsSettings | undefined {
  if (sslListen === undefined) return undefined;
  const cert = server.cert ?? stream.cert;
  const key = server.key ?? stream.key;
  if (cert === undefined) {
    throw new ConfigError(
      'no "ssl_certificate" is defined for the "listen ... ssl" directive',
      sslListen,
    );
  }
  if (key === undefined) {
    throw new ConfigError(
      `no "ssl_certificate_key" is defined for certificate "${showPath(cert.path)}"`,
      cert.pos,
    );
  }
  return {
    certFile: cert.path,
    keyFile: key.path,
    cert: read(state, cert, "certificate"),
    key: read(state, key, "certificate key"),
    pos: cert.pos,
  };
}
