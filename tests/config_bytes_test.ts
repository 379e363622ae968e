/**
 * Configs are bytes: every argument byte reaches the client exactly as written (as in nginx),
 * text configs are UTF-8, file names still work as UTF-8, and messages escape raw bytes.
 */
import assert from "node:assert/strict";
import {
  argBytes,
  binaryToText,
  bytesToBinary,
  showPath,
  showToken,
  textToBinary,
} from "../src/config/bytes.ts";
import { ConfigError } from "../src/config/errors.ts";
import { loadConfig, parseConfig } from "../src/config/loader.ts";
import { startServer } from "../src/server/server.ts";

const enc = new TextEncoder();

/** Concatenates text (UTF-8) and raw byte arrays into one Uint8Array. */
function bytes(...parts: (string | number[])[]): Uint8Array {
  const chunks = parts.map((p) => typeof p === "string" ? enc.encode(p) : new Uint8Array(p));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Every byte from 0x80 to 0xff, and a NUL. */
const HIGH = [...Array.from({ length: 128 }, (_, i) => 0x80 + i), 0];

async function received(port: number): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  return await new Response(conn.readable).bytes();
}

function withTempDir(run: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "se-bytes-" });
  return Promise.resolve(run(dir)).finally(() => Deno.removeSync(dir, { recursive: true }));
}

const helperCases: { name: string; check: () => void }[] = [
  {
    name: "bytesToBinary() gives one character per byte, 0-255, also past 8 KiB",
    check: () => {
      const big = new Uint8Array(20_000).map((_, i) => i % 256);
      const s = bytesToBinary(big);
      assert.equal(s.length, big.length);
      assert.equal(s.charCodeAt(255), 255);
      assert.equal(s.charCodeAt(19_999), 19_999 % 256);
      for (let i = 0; i < 256; i++) assert.equal(s.charCodeAt(i), i, `byte ${i}`);
    },
  },
  {
    name: "textToBinary() UTF-8 encodes non-ASCII text",
    check: () => assert.equal(textToBinary("é€"), "\xc3\xa9\xe2\x82\xac"),
  },
  {
    name: "argBytes() turns a binary string back into its bytes",
    check: () => assert.deepEqual(argBytes("\0\x80\xff"), new Uint8Array([0, 0x80, 0xff])),
  },
  {
    name: "argBytes() refuses a character above 0xff (text, not a token)",
    check: () => assert.throws(() => argBytes("€"), RangeError),
  },
  {
    name: "binaryToText() reads a token as UTF-8",
    check: () => assert.equal(binaryToText(textToBinary("/tmp/ünï.conf")), "/tmp/ünï.conf"),
  },
  {
    name: "showToken() writes control bytes and bytes >= 0x80 as \\xNN",
    check: () => assert.equal(showToken("a\0\t\x7f\x80\xff"), "a\\x00\\x09\\x7F\\x80\\xFF"),
  },
  {
    name: "showToken() quotes at most 64 bytes, then ...",
    check: () => assert.equal(showToken("ab".repeat(1000)), "ab".repeat(32) + "..."),
  },
  {
    name: "showPath() keeps UTF-8 names readable but escapes control characters",
    check: () => assert.equal(showPath("/tmp/é\r"), "/tmp/é\\x0D"),
  },
];
for (const c of helperCases) Deno.test(c.name, c.check);

Deno.test("raw bytes 0x80-0xff and NUL in echo and echo_duplicate reach the client byte for byte", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/raw.conf`;
    Deno.writeFileSync(
      path,
      bytes(
        'stream {\n  server {\n    listen 127.0.0.1:0;\n    echo -n "',
        HIGH,
        '";\n    echo_duplicate 2 ',
        [0xff, 0xfe, 0],
        ";\n    echo ",
        [0xc3, 0x28],
        ";\n  }\n}\n",
      ),
    );
    await using server = await startServer(loadConfig(path));
    const got = await received((server.addrs[0] as Deno.NetAddr).port);
    const want = bytes(HIGH, [0xff, 0xfe, 0, 0xff, 0xfe, 0], [0xc3, 0x28, 0x0a]);
    assert.deepEqual(got, want);
  });
});

Deno.test("a text config given to the library as a JS string still sends UTF-8", async () => {
  await using server = await startServer(
    parseConfig('stream { server { listen 127.0.0.1:0; echo "héllo €"; } }'),
  );
  const got = await received((server.addrs[0] as Deno.NetAddr).port);
  assert.equal(new TextDecoder().decode(got), "héllo €\n");
  assert.equal(got.length, "héllo €\n".length + 3);
});

Deno.test("parseConfig() takes bytes as they are, escapes included", () => {
  const config = parseConfig(bytes('stream { server { listen 0; echo -n "\\t', [0xfe], '"; } }'));
  assert.deepEqual(
    (config.servers[0].steps[0] as { data: Uint8Array }).data,
    new Uint8Array([9, 0xfe]),
  );
});

Deno.test("lines stay right after multibyte and raw bytes", () => {
  const text = bytes("# caf\u00e9 ", [0xff, 0xfe], "\nstream { server {\n  listen 0; echo ", [
    0x80,
  ], ";\n  ech\u00e9;\n} }\n");
  assert.throws(() => parseConfig(text, { file: "se.conf" }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, 'unknown directive "ech\\xC3\\xA9" in se.conf:4');
    return true;
  });
});

const messageCases: { name: string; config: Uint8Array; message: string }[] = [
  {
    name: "an unknown directive made of raw bytes",
    config: bytes([0xff, 0x00], "x;"),
    message: 'unknown directive "\\xFF\\x00x" in <config>:1',
  },
  {
    name: "a bad size with raw bytes",
    config: bytes("stream { server { listen 0; echo_read_bytes 1", [0x80], "; } }"),
    message: 'stream echo sees bad size "1\\x80" in "echo_read_bytes" in <config>:1',
  },
  {
    name: "a bad listen parameter with a control byte",
    config: bytes("stream { server { listen 0 ", [0x1b], "[31m; } }"),
    message: 'the invalid "\\x1B[31m" parameter in <config>:1',
  },
];
for (const c of messageCases) {
  Deno.test(`messages escape raw bytes: ${c.name}`, () => {
    assert.throws(() => parseConfig(c.config), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, c.message);
      return true;
    });
  });
}

Deno.test("file names from the config are UTF-8: include and pid with non-ASCII names", async () => {
  await withTempDir((dir) => {
    Deno.writeTextFileSync(`${dir}/sérvers.conf`, "server { listen 0; echo inclus; }\n");
    Deno.writeTextFileSync(
      `${dir}/main.conf`,
      "pid ünï.pid;\nstream {\n  include sérvers.conf;\n  include 's*rvers.conf';\n}\n",
    );
    const config = loadConfig(`${dir}/main.conf`);
    assert.equal(config.main.pid?.file, `${dir}/ünï.pid`);
    assert.deepEqual(config.servers.map((s) => s.pos.file), [
      `${dir}/sérvers.conf`,
      `${dir}/sérvers.conf`,
    ]);
  });
});

Deno.test("a leading UTF-8 byte order mark in a config file is skipped", async () => {
  await withTempDir((dir) => {
    Deno.writeFileSync(
      `${dir}/bom.conf`,
      bytes([0xef, 0xbb, 0xbf], "stream { server { listen 0; echo; } }"),
    );
    assert.equal(loadConfig(`${dir}/bom.conf`).servers.length, 1);
  });
});
