/**
 * `ssl_certificate` and `ssl_certificate_key` (stream and server level): the PEM files are
 * read at load time, so a missing or unreadable file is a config error with file and line,
 * and a reload re-reads them.
 *
 * @module
 */

import { ConfigError } from "./errors.ts";
import { resolvePath } from "./main_directives.ts";
import type { Directive } from "./parser.ts";
import type { LoadedFile, Scope, TlsPartial } from "./scope.ts";
import type { Position, TlsSettings } from "./types.ts";

/** Words for an OS error, like nginx's `(2: No such file or directory)` without the number. */
export function describeError(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "No such file or directory";
  if (err instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "Is a directory";
  if (err instanceof Error) return err.message;
  return String(err);
}

const PEM_CERT = /-----BEGIN [A-Z0-9 ]*CERTIFICATE-----/;
const PEM_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

function load(d: Directive, scope: Scope, what: "certificate" | "certificate key"): LoadedFile {
  const path = d.args[0];
  const resolved = resolvePath(scope, path);
  const cache = scope.state.fileCache;
  let text = cache.get(resolved);
  if (text === undefined) {
    try {
      text = scope.state.source.readFile(resolved);
    } catch (err) {
      throw new ConfigError(`cannot load ${what} "${resolved}": ${describeError(err)}`, d.pos);
    }
    cache.set(resolved, text);
  }
  const pem = what === "certificate" ? PEM_CERT : PEM_KEY;
  if (!pem.test(text)) {
    const kind = what === "certificate" ? "CERTIFICATE" : "PRIVATE KEY";
    throw new ConfigError(
      `cannot load ${what} "${resolved}": no PEM "${kind}" block found`,
      d.pos,
    );
  }
  return { path: resolved, text, pos: d.pos };
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
  tls.cert = load(d, scope, "certificate");
}

/** `ssl_certificate_key FILE`. */
export function compileSslCertificateKey(d: Directive, scope: Scope): void {
  const tls = block(d, scope);
  if (tls.key !== undefined) throw new ConfigError(`"${d.name}" directive is duplicate`, d.pos);
  tls.key = load(d, scope, "certificate key");
}

/**
 * A server's TLS settings from its own and the stream level's directives; `undefined` when
 * no listener uses `ssl`. `sslListen` is where the first `listen ... ssl` is.
 */
export function mergeTls(
  stream: TlsPartial,
  server: TlsPartial,
  sslListen: Position | undefined,
): TlsSettings | undefined {
  const cert = server.cert ?? stream.cert;
  const key = server.key ?? stream.key;
  if (cert !== undefined && key === undefined) {
    throw new ConfigError(
      `no "ssl_certificate_key" is defined for certificate "${cert.path}"`,
      cert.pos,
    );
  }
  if (sslListen === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new ConfigError(
      'no "ssl_certificate" is defined for the "listen ... ssl" directive',
      sslListen,
    );
  }
  return { certFile: cert.path, keyFile: key.path, cert: cert.text, key: key.text, pos: cert.pos };
}
