import assert from "node:assert/strict";
import { parseConfig } from "../src/config/loader.ts";
import { configError, memoryFs } from "./config_fixtures.ts";

const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
const fs = memoryFs({
  "/etc/se/cert.pem": CERT,
  "/etc/se/key.pem": KEY,
  "/etc/se/other.pem": CERT,
  "/etc/se/empty.pem": "",
  "/abs/key.pem": KEY,
});
const opts = { file: "/etc/se/se.conf", ...fs };

Deno.test("listen ... ssl gets the server's certificate and key, read at load time", () => {
  const config = parseConfig(
    "stream {\nserver {\nlisten 0 ssl;\nssl_certificate cert.pem;\nssl_certificate_key /abs/key.pem;\necho;\n}\n}",
    opts,
  );
  assert.deepEqual(config.servers[0].tls, {
    certFile: "/etc/se/cert.pem",
    keyFile: "/abs/key.pem",
    cert: CERT,
    key: KEY,
    pos: { file: "/etc/se/se.conf", line: 4 },
  });
});

Deno.test("stream-level certificates are inherited by servers, and a server may override", () => {
  const config = parseConfig(
    `stream {
      ssl_certificate cert.pem;
      ssl_certificate_key key.pem;
      server { listen 0 ssl; echo; }
      server { listen 0 ssl; ssl_certificate other.pem; echo; }
      server { listen 0; echo; }
    }`,
    opts,
  );
  const [a, b, c] = config.servers;
  assert.equal(a.tls?.certFile, "/etc/se/cert.pem");
  assert.equal(b.tls?.certFile, "/etc/se/other.pem");
  assert.equal(b.tls?.keyFile, "/etc/se/key.pem");
  assert.equal(c.tls, undefined);
});

Deno.test("a server that has certificates but no ssl listener gets no TLS settings", () => {
  const config = parseConfig(
    "stream { server { listen 0; ssl_certificate cert.pem; ssl_certificate_key key.pem; echo; } }",
    opts,
  );
  assert.equal(config.servers[0].tls, undefined);
});

const errorCases: { name: string; body: string; message: string }[] = [
  {
    name: "listen ... ssl without certificates is an error at the listen line",
    body: "listen 0;\nlisten 1 ssl;",
    message:
      'no "ssl_certificate" is defined for the "listen ... ssl" directive in /etc/se/se.conf:4',
  },
  {
    name: "a missing certificate file is an error at its line",
    body: "listen 0 ssl;\nssl_certificate nope.pem;\nssl_certificate_key key.pem;",
    message:
      'cannot load certificate "/etc/se/nope.pem": No such file or directory in /etc/se/se.conf:4',
  },
  {
    name: "a missing key file is an error at its line",
    body: "listen 0 ssl;\nssl_certificate cert.pem;\nssl_certificate_key nope.pem;",
    message:
      'cannot load certificate key "/etc/se/nope.pem": No such file or directory in /etc/se/se.conf:5',
  },
  {
    name: "a certificate file without a PEM certificate is an error",
    body: "listen 0 ssl;\nssl_certificate empty.pem;\nssl_certificate_key key.pem;",
    message:
      'cannot load certificate "/etc/se/empty.pem": no PEM "CERTIFICATE" block found in /etc/se/se.conf:4',
  },
  {
    name: "a key file without a PEM private key is an error",
    body: "listen 0 ssl;\nssl_certificate cert.pem;\nssl_certificate_key cert.pem;",
    message:
      'cannot load certificate key "/etc/se/cert.pem": no PEM "PRIVATE KEY" block found in /etc/se/se.conf:5',
  },
  {
    name: "a certificate without a key is an error",
    body: "listen 0 ssl;\nssl_certificate cert.pem;",
    message:
      'no "ssl_certificate_key" is defined for certificate "/etc/se/cert.pem" in /etc/se/se.conf:4',
  },
  {
    name: "ssl_certificate twice in a server is an error",
    body: "listen 0;\nssl_certificate cert.pem;\nssl_certificate cert.pem;",
    message: '"ssl_certificate" directive is duplicate in /etc/se/se.conf:5',
  },
];

for (const c of errorCases) {
  Deno.test(c.name, () => {
    const err = configError(`stream {\nserver {\n${c.body}\necho;\n}\n}`, opts);
    assert.equal(err.message, c.message);
  });
}

Deno.test("certificate files are not read for a server without ssl listeners, as in nginx", () => {
  const config = parseConfig(
    "stream { server { listen 0; ssl_certificate nope.pem; ssl_certificate_key nope.pem; echo; } }",
    opts,
  );
  assert.equal(config.servers[0].tls, undefined);
});

Deno.test("a certificate shared by many servers is read once", () => {
  let reads = 0;
  const servers = Array.from({ length: 5 }, () => "server { listen 0 ssl; echo; }").join(" ");
  parseConfig(`stream { ssl_certificate cert.pem; ssl_certificate_key key.pem; ${servers} }`, {
    ...opts,
    readFile: (path: string) => {
      reads++;
      return fs.readFile(path);
    },
  });
  assert.equal(reads, 2);
});

Deno.test("ssl_certificate at main level is not allowed", () => {
  assert.equal(
    configError("ssl_certificate a;", opts).reason,
    '"ssl_certificate" directive is not allowed here',
  );
});
