/**
 * Fuzzing the loader: random and mutated configs either compile or throw a ConfigError,
 * never anything else. Seeded, so a failure names the seed and the input that caused it.
 */

import assert from "node:assert/strict";
import { ConfigError } from "../src/config/errors.ts";
import { parseConfig } from "../src/config/loader.ts";
import { memoryFs } from "./config_fixtures.ts";

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CERT = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n";
const fs = memoryFs({
  "/f/a.conf": "server { listen 0; echo a; }",
  "/f/b.conf": "include a.conf; echo_read_timeout 1s;",
  "/f/loop.conf": "include loop.conf;",
  "/f/d/x.conf": "server { listen 0; echo x; }",
  "/f/bad.conf": 'echo "unterminated',
  "/f/cert.pem": CERT,
  "/f/key.pem": KEY,
});
const options = { file: "/f/se.conf", ...fs };

const SEEDS = [
  `worker_processes 2; events { worker_connections 64; }
stream {
  echo_read_timeout 1m30s;
  ssl_certificate cert.pem; ssl_certificate_key key.pem;
  server {
    listen 127.0.0.1:1234 ssl backlog=10 reuseport so_keepalive=on;
    listen [::1]:0;
    echo -n "hello, " 'world' a\\tb;
    echo_duplicate 1000_000_000 "hello, world";
    echo_sleep 1.5;
    echo_read_buffer_size 4k;
    echo_read_bytes 3; echo_read_line; echo_request_data;
    echo_discard_request; echo_flush_wait;
    echo_lingering_close always; echo_lingering_time 30s; echo_lingering_timeout 5s;
    echo_client_error_log_level warn; echo_send_timeout 10s;
  }
  include d/*.conf;
}`,
  `stream { include a.conf; include b.conf; server { listen unix:/tmp/x; echo; } }`,
  `error_log stderr debug; pid se.pid; daemon off; master_process off; user nobody;
stream { server { listen 0; echo "" -- -n; echo_duplicate -- 2 x; } }`,
];

const ATOMS = [
  "stream",
  "server",
  "events",
  "http",
  "include",
  "listen",
  "echo",
  "echo_duplicate",
  "echo_sleep",
  "echo_read_bytes",
  "echo_read_line",
  "echo_request_data",
  "echo_discard_request",
  "echo_flush_wait",
  "echo_read_buffer_size",
  "echo_read_timeout",
  "echo_send_timeout",
  "echo_lingering_close",
  "echo_client_error_log_level",
  "ssl_certificate",
  "ssl_certificate_key",
  "worker_processes",
  "error_log",
  "pid",
  "a.conf",
  "b.conf",
  "loop.conf",
  "bad.conf",
  "*.conf",
  "d/*",
  "[ab].conf",
  "cert.pem",
  "key.pem",
  "0",
  "1",
  "-1",
  "--",
  "-n",
  "65536",
  "1_000",
  "1.5",
  "4k",
  "1m30s",
  "597h",
  "127.0.0.1:80",
  "[::1]:0",
  "unix:/s",
  "ssl",
  "backlog=1",
  "on",
  "off",
  "always",
  "{",
  "}",
  ";",
  ";",
  ";",
  " ",
  " ",
  "\n",
  "\t",
  "#",
  '"',
  "'",
  "\\",
  "\\n",
  "${",
  "$",
  '""',
  "''",
  '"a b"',
  "\r",
];

function randomConfig(next: () => number): string {
  const n = Math.floor(next() * 60);
  let out = "";
  for (let i = 0; i < n; i++) {
    if (next() < 0.05) {
      out += String.fromCharCode(Math.floor(next() * 128));
    } else {
      out += ATOMS[Math.floor(next() * ATOMS.length)];
      if (next() < 0.6) out += " ";
    }
  }
  return out;
}

function mutate(text: string, next: () => number): string {
  let out = text;
  const edits = 1 + Math.floor(next() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(next() * (out.length + 1));
    const len = Math.floor(next() * 12);
    switch (Math.floor(next() * 5)) {
      case 0: // delete a span
        out = out.slice(0, at) + out.slice(at + len);
        break;
      case 1: // insert an atom
        out = out.slice(0, at) + ATOMS[Math.floor(next() * ATOMS.length)] + out.slice(at);
        break;
      case 2: // insert a random character
        out = out.slice(0, at) + String.fromCharCode(Math.floor(next() * 0x2ff)) + out.slice(at);
        break;
      case 3: // duplicate a span
        out = out.slice(0, at + len) + out.slice(at, at + len) + out.slice(at + len);
        break;
      case 4: // truncate
        out = out.slice(0, at);
        break;
    }
  }
  return out;
}

function check(input: string, seed: number): "ok" | "error" {
  try {
    parseConfig(input, options);
    return "ok";
  } catch (err) {
    if (err instanceof ConfigError) {
      assert.match(err.message, / in \/f\/[^:]+:\d+(, [^\n]*)?$/);
      assert.ok(err.line >= 1);
      return "error";
    }
    assert.fail(`seed ${seed}: ${String(err)} for input ${JSON.stringify(input)}`);
  }
}

Deno.test("the seed configs of the fuzzer compile", () => {
  for (const seed of SEEDS) parseConfig(seed, options);
});

Deno.test("parseConfig() throws only ConfigError for random configs", () => {
  const seed = 20261124;
  const next = rng(seed);
  const outcomes = { ok: 0, error: 0 };
  for (let i = 0; i < 4000; i++) outcomes[check(randomConfig(next), seed)]++;
  assert.ok(outcomes.error > 0);
});

Deno.test("parseConfig() throws only ConfigError for mutated valid configs", () => {
  const seed = 4242;
  const next = rng(seed);
  const outcomes = { ok: 0, error: 0 };
  for (let i = 0; i < 6000; i++) {
    const base = SEEDS[i % SEEDS.length];
    outcomes[check(mutate(base, next), seed)]++;
  }
  // mutations keep some configs valid and break others: both paths are exercised
  assert.ok(outcomes.ok > 0 && outcomes.error > 0, JSON.stringify(outcomes));
});

Deno.test("parseConfig() throws only ConfigError for random bytes", () => {
  const seed = 7;
  const next = rng(seed);
  for (let i = 0; i < 2000; i++) {
    const n = Math.floor(next() * 200);
    const bytes = new Uint8Array(n).map(() => Math.floor(next() * 256));
    check(new TextDecoder().decode(bytes), seed);
  }
});
