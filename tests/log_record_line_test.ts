import assert from "node:assert/strict";
import { hexdumpRows } from "../src/log/hexdump.ts";
import { isoTime, recordedBytes, type RecordLine, recordLine } from "../src/log/record_line.ts";

const enc = new TextEncoder();

/** Bytes as the recorder keeps them: a binary string, one character per byte. */
function binary(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

Deno.test("recorded bytes are text when valid UTF-8, else base64", () => {
  const cases: [Uint8Array, object][] = [
    [enc.encode("GET / HTTP/1.0\r\n"), { text: "GET / HTTP/1.0\r\n" }],
    [enc.encode("héllo €"), { text: "héllo €" }],
    [new Uint8Array(0), { text: "" }],
    [new Uint8Array([0x00, 0x7f]), { text: "\x00\x7f" }],
    [new Uint8Array([0xc3]), { base64: "ww==" }],
    [new Uint8Array([0x00, 0xff, 0x10]), { base64: "AP8Q" }],
    [new Uint8Array([0xed, 0xa0, 0x80]), { base64: "7aCA" }], // a UTF-16 surrogate: not UTF-8
  ];
  for (const [bytes, want] of cases) assert.deepEqual(recordedBytes(binary(bytes)), want);
});

Deno.test("a truncated direction cut inside a character is text without the incomplete end", () => {
  const cases: [Uint8Array, object][] = [
    [new Uint8Array([0x41, 0xc3]), { text: "A" }],
    [new Uint8Array([0x41, 0xe2, 0x82]), { text: "A" }], // € cut after two of its three bytes
    [new Uint8Array([0x41, 0xf0, 0x9f, 0x98]), { text: "A" }], // 😀 cut after three of four
    [new Uint8Array([0xc3, 0xa9, 0xc3]), { text: "é" }],
    [new Uint8Array([0x41, 0xe0, 0x80]), { base64: "QeCA" }], // no character starts E0 80
    [new Uint8Array([0xff, 0x41, 0xc3]), { base64: "/0HD" }], // invalid before the end
    [new Uint8Array([0x41, 0xa9]), { base64: "Qak=" }], // a lone continuation byte
  ];
  for (const [bytes, want] of cases) {
    assert.deepEqual(recordedBytes(binary(bytes), true), want, String(bytes));
    assert.ok("base64" in recordedBytes(binary(bytes)), "not truncated: base64");
    const line = JSON.parse(recordLine({
      id: 1,
      serverIndex: 0,
      remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
      localAddr: { transport: "tcp", hostname: "127.0.0.1", port: 2 },
      received: binary(bytes),
      sent: binary(bytes),
      truncated: { received: true, sent: false },
      end: "eof",
      startedAt: new Date(0),
      endedAt: new Date(0),
    }, { received: 100, sent: 0 }));
    assert.deepEqual(line.received, want);
    assert.ok("base64" in line.sent);
  }
});

Deno.test("a text that starts with a BOM keeps it", () => {
  assert.deepEqual(recordedBytes(binary(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))), {
    text: "\ufeffA",
  });
});

Deno.test("a record line is one JSON object with the transcript's fields and the totals", () => {
  const line = recordLine({
    id: 3,
    serverIndex: 1,
    remoteAddr: { transport: "tcp", hostname: "::1", port: 40000 },
    localAddr: { transport: "unix", path: "/tmp/s.sock" },
    received: "ab\n",
    sent: "\xff\xfe\x00",
    truncated: { received: true, sent: false },
    end: "timeout",
    reason: "stream client read timed out",
    startedAt: new Date(Date.UTC(2026, 0, 1)),
    endedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 1)),
  }, { received: 100, sent: 3 });
  assert.ok(line.endsWith("\n") && !line.slice(0, -1).includes("\n"));
  const o: RecordLine = JSON.parse(line);
  assert.deepEqual(o, {
    id: 3,
    serverIndex: 1,
    remoteAddr: { transport: "tcp", hostname: "::1", port: 40000 },
    localAddr: { transport: "unix", path: "/tmp/s.sock" },
    startedAt: "2026-01-01T00:00:00.000Z",
    endedAt: "2026-01-01T00:00:01.000Z",
    end: "timeout",
    reason: "stream client read timed out",
    received: { text: "ab\n" },
    sent: { base64: "//4A" },
    truncated: { received: true, sent: false },
    bytesReceived: 100,
    bytesSent: 3,
  });
});

Deno.test("a hex dump has ncat's rows: offset, two groups of 8 bytes, then ASCII", () => {
  const bytes = enc.encode("Hello, hex dump!\x00\x7f");
  assert.deepEqual(hexdumpRows(bytes), [
    "[0000]   48 65 6C 6C 6F 2C 20 68   65 78 20 64 75 6D 70 21   Hello, hex dump!",
    "[0010]   00 7F                                               ..",
  ]);
  assert.deepEqual(hexdumpRows(new Uint8Array(0)), []);
  assert.equal(hexdumpRows(new Uint8Array(40)).length, 3);
  assert.ok(hexdumpRows(new Uint8Array(40))[2].startsWith("[0020]   00"));
});

Deno.test("isoTime writes what toISOString writes, in the same second and across seconds", () => {
  const times = [
    0,
    1,
    999,
    1000,
    1796184224719,
    1796184224720,
    1796184224999,
    1796184225000,
    1796184225010,
    1796184224719,
    253402300799999,
    253402300800000,
    -1,
    -62198755200000,
  ];
  for (const ms of times) assert.equal(isoTime(new Date(ms)), new Date(ms).toISOString(), `${ms}`);
});

Deno.test("isoTime takes ms since the epoch as well as a Date", () => {
  for (const ms of [0, 999, 1796184224719, -1]) {
    assert.equal(isoTime(ms), new Date(ms).toISOString(), `${ms}`);
  }
});

Deno.test("a record line's bytes are those of JSON.stringify: every byte value, text and base64, any address", () => {
  const all = String.fromCharCode(...Array.from({ length: 128 }, (_, i) => i));
  const utf8 = binary(enc.encode('é€😀 \u2028 \ufeff " \\ \x7f'));
  const cases: [string, string][] = [
    [all, utf8],
    ["", "\xff"],
    [utf8 + all, all + "\x80"],
    ["\xef\xbb\xbfA", ""],
  ];
  const addrs: Deno.Addr[] = [
    { transport: "tcp", hostname: "127.0.0.1", port: 0 },
    { transport: "tcp", hostname: "::1", port: 65535 },
    { transport: "unix", path: '/tmp/sé "q".sock' },
  ];
  for (const [received, sent] of cases) {
    for (const reason of [undefined, 'read timed out "é"\n']) {
      for (const remoteAddr of addrs) {
        const t = {
          id: 123456789,
          serverIndex: 0,
          remoteAddr,
          localAddr: addrs[1],
          received,
          sent,
          truncated: { received: false, sent: true },
          end: reason ? "timeout" as const : "eof" as const,
          reason,
          startedAt: new Date(1796184224007),
          endedAt: new Date(-5),
        };
        const want: RecordLine = {
          id: t.id,
          serverIndex: t.serverIndex,
          remoteAddr: t.remoteAddr,
          localAddr: t.localAddr,
          startedAt: t.startedAt.toISOString(),
          endedAt: t.endedAt.toISOString(),
          end: t.end,
          ...(reason === undefined ? {} : { reason }),
          received: recordedBytes(received, t.truncated.received),
          sent: recordedBytes(sent, t.truncated.sent),
          truncated: t.truncated,
          bytesReceived: Math.max(10, received.length),
          bytesSent: Math.max(10, sent.length),
        };
        assert.equal(
          recordLine(t, { received: 10, sent: 10 }),
          JSON.stringify(want) + "\n",
        );
      }
    }
  }
});

Deno.test("a record line's numbers are JSON's, at every length and beyond 32 bits", () => {
  const counts = [0, 7, 9, 10, 99, 100, 12345, 999999999, 1000000000, 2147483647, 2147483648, 1e12];
  for (const n of counts) {
    const line = recordLine({
      id: n,
      serverIndex: n,
      remoteAddr: { transport: "tcp", hostname: "10.0.0.1", port: n % 65536 },
      localAddr: { transport: "udp", hostname: "10.0.0.1", port: 1 },
      received: "",
      sent: "",
      truncated: { received: true, sent: true },
      end: "eof",
      startedAt: new Date(n),
      endedAt: new Date(n + 1),
    }, { received: n, sent: n + 1 });
    const o = JSON.parse(line);
    assert.deepEqual(
      [o.id, o.serverIndex, o.remoteAddr.port, o.bytesReceived, o.bytesSent, o.localAddr.transport],
      [n, n, n % 65536, n, n + 1, "udp"],
    );
    assert.equal(o.startedAt, new Date(n).toISOString());
    assert.deepEqual(o.truncated, { received: true, sent: true });
  }
});

Deno.test("a record line's bytes are JSON.stringify's for random bytes near UTF-8's edges", () => {
  // Valid text around one probe: a lead byte (or a byte that is never one) and up to three bytes
  // from the edges of the continuation range, so each of UTF-8's rules (the narrower ranges
  // after E0, ED, F0 and F4, no C0, C1 or F5+, no sequence cut short) decides alone.
  const hex = (h: string) => h.match(/../g)!.map((x) => parseInt(x, 16));
  const leads = hex("41808fbfc0c1c2dfe0e1ecedeeeff0f1f3f4f5f7ff");
  const tails = hex("00227f808f909fa0bfc0");
  const chars = [
    '"',
    "\\",
    "\n",
    "\x01",
    "\x7f",
    "a",
    "é",
    "€",
    "😀",
    "\ud7ff",
    "\ue000",
    "\u{10ffff}",
  ];
  let seed = 12345; // mulberry32: the same draws on every run
  const random = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), seed | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const text =
    () => [...enc.encode(Array.from({ length: random(3) }, () => chars[random(12)]).join(""))];
  let texts = 0;
  for (let round = 0; round < 4000; round++) {
    const probe = [leads[random(leads.length)]];
    for (let k = random(4); k > 0; k--) probe.push(tails[random(tails.length)]);
    const bytes = new Uint8Array([...text(), ...probe, ...text()]);
    const received = binary(bytes);
    const sent = binary(bytes.subarray(random(bytes.length + 1)));
    const t = {
      id: round,
      serverIndex: 0,
      remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 },
      localAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 2 },
      received,
      sent,
      // Either direction may have been cut by the cap: an incomplete end is then left out.
      truncated: { received: round % 2 === 1, sent: round % 3 === 0 },
      end: "eof" as const,
      startedAt: 0,
      endedAt: 0,
    };
    const want = {
      id: round,
      serverIndex: 0,
      remoteAddr: t.remoteAddr,
      localAddr: t.localAddr,
      startedAt: new Date(0).toISOString(),
      endedAt: new Date(0).toISOString(),
      end: "eof",
      received: recordedBytes(received, t.truncated.received),
      sent: recordedBytes(sent, t.truncated.sent),
      truncated: t.truncated,
      bytesReceived: received.length,
      bytesSent: sent.length,
    };
    if ("text" in want.received) texts++;
    assert.equal(recordLine(t, { received: 0, sent: 0 }), JSON.stringify(want) + "\n");
  }
  assert.ok(texts > 150 && texts < 3850, `both kinds are drawn (${texts} texts)`);
});

Deno.test("record lines in turn for other server blocks, listeners and hosts: each line its own", () => {
  const cases: [number, Deno.Addr, Deno.Addr][] = [
    [0, { transport: "tcp", hostname: "10.0.0.1", port: 1 }, {
      transport: "tcp",
      hostname: "::",
      port: 80,
    }],
    [1, { transport: "tcp", hostname: "10.0.0.1", port: 1 }, {
      transport: "tcp",
      hostname: "::",
      port: 81,
    }],
    [1, { transport: "udp", hostname: "10.0.0.1", port: 1 }, {
      transport: "udp",
      hostname: "::",
      port: 81,
    }],
    [1, { transport: "tcp", hostname: "10.0.0.2", port: 1 }, {
      transport: "tcp",
      hostname: "::1",
      port: 81,
    }],
    [0, { transport: "unix", path: "/s" }, { transport: "unix", path: "/s" }],
    [0, { transport: "tcp", hostname: "10.0.0.2", port: 1 }, {
      transport: "tcp",
      hostname: "::1",
      port: 81,
    }],
  ];
  for (const [serverIndex, remoteAddr, localAddr] of [...cases, ...cases.reverse()]) {
    const o = JSON.parse(recordLine({
      id: 1,
      serverIndex,
      remoteAddr,
      localAddr,
      received: "",
      sent: "",
      truncated: { received: false, sent: false },
      end: "eof",
      startedAt: 0,
      endedAt: 0,
    }, { received: 0, sent: 0 }));
    assert.deepEqual([o.serverIndex, o.remoteAddr, o.localAddr], [
      serverIndex,
      remoteAddr,
      localAddr,
    ]);
  }
});
