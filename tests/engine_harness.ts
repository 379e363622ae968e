/**
 * Test helpers for the engine: scripts from config text, in-memory connections, a capturing
 * logger and a one-script TCP server.
 *
 * @module
 */
import { parseConfig } from "../src/config/loader.ts";
import { connIO } from "../src/server/transport.ts";
import type { DirectSource } from "../src/engine/byte_reader.ts";
import { type DirectSink, DirectWriter, type OutputWriter } from "../src/engine/direct_writer.ts";
import { runSession } from "../src/engine/session.ts";
import type {
  SessionIO,
  SessionOptions,
  SessionResult,
  SessionScript,
} from "../src/engine/types.ts";
import { createLogger, type Logger, type LogLevel } from "../src/log/logger.ts";

export const enc = new TextEncoder();

/**
 * The engine's two I/O paths: Web Streams (`SessionIO.readable`/`writable`) and the direct path
 * (`SessionIO.direct`). Every engine and session test runs over both ({@linkcode ioTest}).
 */
export type IoPath = "streams" | "direct";
let ioPath: IoPath = "streams";

/** The path the running test uses. */
export function currentIoPath(): IoPath {
  return ioPath;
}

/**
 * Registers `fn` once per I/O path, named `<name> [streams]` and `<name> [direct]`: memory
 * connections, script servers, {@linkcode pathSource} and {@linkcode pathWriter} follow it.
 */
export function ioTest(name: string, fn: () => Promise<void> | void): void {
  for (const path of ["streams", "direct"] as const) {
    Deno.test(`${name} [${path}]`, async () => {
      ioPath = path;
      try {
        await fn();
      } finally {
        ioPath = "streams";
      }
    });
  }
}

/**
 * A direct source over `readable` (what a socket's `read` does): at most the bytes asked for,
 * the rest kept for the next read; a byte stream is read with BYOB reads of exactly that size.
 */
export function directSourceOf(readable: ReadableStream<Uint8Array>): DirectSource {
  let byob: ReadableStreamBYOBReader | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let rest: Uint8Array | null = null;
  const open = () => {
    if (byob || reader) return;
    try {
      byob = readable.getReader({ mode: "byob" });
    } catch {
      reader = readable.getReader();
    }
  };
  return {
    async read(buf) {
      open();
      if (byob) {
        const { value, done } = await byob.read(new Uint8Array(buf.byteLength));
        if (done || !value) return null;
        buf.set(value);
        return value.byteLength;
      }
      while (!rest || rest.byteLength === 0) {
        const { value, done } = await reader!.read();
        if (done) return null;
        rest = value;
      }
      const n = Math.min(buf.byteLength, rest.byteLength);
      buf.set(rest.subarray(0, n));
      rest = n < rest.byteLength ? rest.subarray(n) : null;
      return n;
    },
    async cancel() {
      try {
        if (byob) await byob.cancel();
        else if (reader) await reader.cancel();
        else await readable.cancel();
      } catch { /* already errored */ }
    },
  };
}

/** What the engine reads `readable` through on the current path. */
export function pathSource(
  readable: ReadableStream<Uint8Array>,
): ReadableStream<Uint8Array> | DirectSource {
  return ioPath === "direct" ? directSourceOf(readable) : readable;
}

/** A direct sink writing through `writable` (each write resolves when the stream's does). */
function directSinkOf(writable: WritableStream<Uint8Array>): DirectSink {
  const w = writable.getWriter();
  return {
    write: (chunk) => w.write(chunk),
    close: () => w.close(),
    abort: () => w.abort(),
  };
}

/** The writer the engine's output uses over `writable` on the current path. */
export function pathWriter(
  writable: WritableStream<Uint8Array>,
  highWaterMark = 1024,
): OutputWriter {
  return ioPath === "direct"
    ? new DirectWriter(directSinkOf(writable), highWaterMark)
    : writable.getWriter();
}
export const dec = new TextDecoder();

/** The steps and settings of `server { <body> }`, compiled by the real config compiler. */
export function script(body: string, streamLevel = ""): SessionScript {
  const config = parseConfig(
    `stream { ${streamLevel}\n server { listen 127.0.0.1:0;\n${body}\n } }`,
  );
  const server = config.servers[0];
  return { steps: server.steps, settings: server.settings };
}

/** A logger that keeps its lines. */
export function captureLogger(level: LogLevel = "info"): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger((line) => lines.push(line), { level, pid: 4242 });
  return Object.assign(logger, { lines });
}

/** Options for {@linkcode memoryConn}. */
export interface MemoryConnOptions {
  /** Sink behaviour: "ok" writes at once, "stall" never completes a write, "reset" fails. */
  sink?: "ok" | "stall" | "reset";
  /** Give the connection a `reset()` (abortive close) that the test can observe. */
  withReset?: boolean;
  /**
   * Give the connection an `accepted()` (bytes the socket took): every byte of a completed
   * write, and this many bytes of the first write a "stall" sink never completes (a socket
   * that took part of a write, then no more).
   */
  partial?: number;
}

/** An in-memory connection: feed client bytes, read what the session sent. */
export interface MemoryConn {
  io: SessionIO;
  /** Sends client bytes. */
  send(data: string | Uint8Array): void;
  /** Client EOF (half-close). */
  end(): void;
  /** Client reset: the readable side errors. */
  reset(): void;
  /** Everything the session wrote so far, as text. */
  text(): string;
  /** Everything the session wrote so far (small chunks only), as bytes. */
  raw(): Uint8Array;
  /** True once the session called reset() (only with `withReset`). */
  wasReset: boolean;
  /** Bytes the session wrote so far. */
  bytes(): number;
  /** Chunk sizes the session wrote. */
  chunkSizes: number[];
  /** True once the session closed its writable side (half-close, FIN). */
  halfClosed: boolean;
  /** True once the session called close(). */
  closed: boolean;
  /** How many times the session's reads pulled from the source. */
  pulls: number;
}

/** Builds a {@linkcode MemoryConn}. */
export function memoryConn(options: MemoryConnOptions = {}): MemoryConn {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let ended = false;
  const parts: Uint8Array[] = [];
  const conn: MemoryConn = {
    io: undefined as unknown as SessionIO,
    send(data) {
      if (ended) return;
      controller.enqueue(typeof data === "string" ? enc.encode(data) : data);
    },
    end() {
      if (ended) return;
      ended = true;
      controller.close();
    },
    reset() {
      if (ended) return;
      ended = true;
      controller.error(new Deno.errors.ConnectionReset("Connection reset by peer"));
    },
    text: () => dec.decode(concat(parts)),
    raw: () => concat(parts),
    wasReset: false,
    bytes: () => parts.reduce((n, p) => n + p.byteLength, 0),
    chunkSizes: [],
    halfClosed: false,
    closed: false,
    pulls: 0,
  };
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    pull() {
      conn.pulls++;
    },
  }, { highWaterMark: 0 });
  const sink = options.sink ?? "ok";
  const writable = new WritableStream<Uint8Array>({
    write(chunk): Promise<void> | void {
      if (sink === "stall") {
        accepted += Math.min(chunk.byteLength, stalled ? 0 : options.partial ?? 0);
        stalled = true;
        return new Promise<void>(() => {});
      }
      if (sink === "reset") throw new Deno.errors.ConnectionReset("Connection reset by peer");
      accepted += chunk.byteLength;
      conn.chunkSizes.push(chunk.byteLength);
      // Keep small chunks only: large streams are counted, not stored.
      parts.push(chunk.byteLength <= 4096 ? chunk.slice() : new Uint8Array(0));
      if (chunk.byteLength > 4096) extra += chunk.byteLength;
    },
    close() {
      conn.halfClosed = true;
    },
  });
  let extra = 0;
  let accepted = 0;
  let stalled = false;
  conn.bytes = () => parts.reduce((n, p) => n + p.byteLength, 0) + extra;
  conn.io = {
    readable,
    writable,
    close() {
      conn.closed = true;
      if (!ended) {
        ended = true;
        try {
          controller.close();
        } catch { /* cancelled */ }
      }
    },
  };
  if (options.partial !== undefined) conn.io.accepted = () => accepted;
  if (options.withReset) {
    conn.io.reset = () => {
      conn.wasReset = true;
      conn.io.close();
    };
  }
  // The direct path: the same source and sink, without the engine holding streams.
  const direct = ioPath === "direct" ? directSourceOf(readable) : undefined;
  if (direct) {
    conn.io.direct = {
      of: conn.io,
      read: direct.read,
      cancel: direct.cancel,
      sink: directSinkOf(writable),
      highWaterMark: 1,
    };
  }
  return conn;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** Runs `script` over a fresh in-memory connection, with a capturing logger. */
export function runMemory(
  s: SessionScript,
  options: MemoryConnOptions & Partial<SessionOptions> = {},
): { conn: MemoryConn; logger: ReturnType<typeof captureLogger>; done: Promise<SessionResult> } {
  const conn = memoryConn(options);
  const logger = captureLogger();
  const done = runSession(s, conn.io, {
    logger,
    context: { connection: 7, client: "127.0.0.1", server: "127.0.0.1:1234" },
    signal: options.signal,
  });
  return { conn, logger, done };
}

/** A TCP listener on a free loopback port that runs `script` for every connection. */
export interface ScriptServer extends AsyncDisposable {
  port: number;
  addr: Deno.NetAddr;
  logger: ReturnType<typeof captureLogger>;
  /** Results of finished sessions, in order of ending. */
  results: SessionResult[];
  /** Resolves with the next session result not yet taken (in order of ending). */
  nextResult(): Promise<SessionResult>;
}

/** Starts a {@linkcode ScriptServer}; dispose it to stop (waits for sessions). */
export function scriptServer(s: SessionScript): ScriptServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const logger = captureLogger();
  const results: SessionResult[] = [];
  const waiters: { index: number; resolve: (r: SessionResult) => void }[] = [];
  let taken = 0;
  const sessions = new Set<Promise<void>>();
  const ac = new AbortController();
  let n = 0;
  const addr = listener.addr as Deno.NetAddr;
  const port = addr.port;
  const loop = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      const id = ++n;
      const p = runSession(s, connIO(conn, { direct: ioPath === "direct" }), {
        logger,
        signal: ac.signal,
        context: { connection: id, client: "127.0.0.1", server: `127.0.0.1:${port}` },
      }).then((r) => {
        results.push(r);
        while (waiters.length > 0 && waiters[0].index < results.length) {
          const w = waiters.shift()!;
          w.resolve(results[w.index]);
        }
      });
      sessions.add(p);
      p.finally(() => sessions.delete(p));
    }
  })();
  return {
    port,
    addr,
    logger,
    results,
    nextResult() {
      const index = taken++;
      if (index < results.length) return Promise.resolve(results[index]);
      return new Promise((resolve) => waiters.push({ index, resolve }));
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      await loop;
      ac.abort();
      await Promise.all(sessions);
    },
  };
}

/** Reads from `conn` until EOF; a reset becomes the string "RESET". */
export async function readAll(conn: Deno.Conn, limit = 1 << 30): Promise<string> {
  const buf = new Uint8Array(65536);
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      total += n;
      if (total <= limit) parts.push(buf.slice(0, n));
    }
  } catch (err) {
    if (err instanceof Deno.errors.ConnectionReset) return dec.decode(concat(parts)) + "RESET";
    throw err;
  }
  return dec.decode(concat(parts));
}

/** True when this test process may use FFI (C close() semantics in connIO.reset()). */
export const ffiGranted = Deno.permissions.querySync({ name: "ffi" }).state === "granted";

/** How a session ended, without its byte counts: `{ end }` or `{ end, reason }`. */
export function endOf(result: SessionResult): { end: SessionResult["end"]; reason?: string } {
  return result.reason === undefined
    ? { end: result.end }
    : { end: result.end, reason: result.reason };
}

/** A small seeded PRNG (mulberry32) for fuzz tests, so a failing case can be replayed. */
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
