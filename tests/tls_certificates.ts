/**
 * TLS material for end-to-end tests: a CA and a leaf certificate for localhost, 127.0.0.1 and
 * ::1, made with the openssl CLI in a temporary directory. Tests that need it are skipped when
 * openssl is missing.
 *
 * @module
 */
import type { TempDir } from "./cli_harness.ts";

/** True when the openssl CLI runs. */
export const hasOpenssl = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** A CA and a leaf certificate for localhost/127.0.0.1/::1, made with the openssl CLI. */
export function makeCertificates(dir: TempDir): { ca: string; cert: string; key: string } {
  const run = (...args: string[]) => {
    const out = new Deno.Command("openssl", {
      args,
      cwd: dir.path,
      stdout: "null",
      stderr: "piped",
    })
      .outputSync();
    if (!out.success) {
      throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=e2e-ca",
  );
  run("req", ...ec, "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=localhost");
  dir.write(
    "ext.cnf",
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n",
  );
  run(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  );
  return { ca: dir.file("ca.pem"), cert: dir.file("cert.pem"), key: dir.file("key.pem") };
}
