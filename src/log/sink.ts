/**
 * A log sink that never blocks the event loop: lines go into a bounded buffer that one
 * asynchronous writer at a time empties into a file, stderr, or any `{ write(bytes) }`.
 *
 * - **Normal operation loses nothing**: every line is written, in order; {@linkcode LogSink.flush}
 *   (at exit, on a fatal error, after a signal) and {@linkcode LogSink.close} (on reopen) wait
 *   for the buffer to drain.
 * - **Under pressure** (a stalled stderr pipe, a slow or full disk) the buffer stops growing
 *   at `maxBytes`: further lines are dropped and counted, and once the destination takes lines
 *   again a line `N log lines dropped` is written where the gap is. A writer that fails (ENOSPC,
 *   EPIPE) loses the lines of that write; they are counted the same way.
 * - **Bounded waits**: `flush(ms)` and `close(ms)` give up after `ms`, so a reader that never
 *   reads cannot keep the process from exiting.
 *
 * One sink per destination: the CLI's stderr, each `error_log` file, the access log and
 * recording files all use this class.
 *
 * @module
 */
import { formatLogLine } from "./logger.ts";

/** Where a sink writes: `Deno.stderr`, a `Deno.FsFile`, or anything with an async `write`. */
export interface SinkWriter {
  /** Writes some of `p`, resolving to how many bytes were taken (a short write is continued). */
  write(p: Uint8Array): Promise<number>;
}

/** Options for {@linkcode LogSink}. */
export interface LogSinkOptions {
  /**
   * Most bytes held at once (waiting, and being written). A line that does not fit is dropped
   * and counted. @default {1048576} (1 MiB)
   */
  maxBytes?: number;
  /** Called once the sink is closed and flushed (or the flush timed out): e.g. closes the file. */
  onClose?: () => void;
  /** The line that reports `n` dropped lines. @default {an nginx-style `[warn]` line} */
  dropNotice?: (n: number) => string;
  /** Called once when writes start failing (a full disk, a closed pipe). */
  onWriteError?: (err: unknown) => void;
  /** Called once when writes succeed again after {@linkcode LogSinkOptions.onWriteError}. */
  onWriteRecovered?: () => void;
  /**
   * Busy sinks coalesce: a write starts at most this many ms after the previous one began, so
   * the lines that arrive meanwhile share one write (one system call instead of one per line).
   * A sink that was idle that long writes at once; `flush()` and `close()` never wait for it.
   * nginx's `access_log ... flush=TIME`. @default {0} (every batch written at once)
   */
  coalesceMs?: number;
  /** A coalescing sink writes at once when this many bytes wait (`buffer=SIZE`). @default {65536} */
  coalesceBytes?: number;
}

/** The default bound of a sink's buffer: 1 MiB. */
export const DEFAULT_SINK_BYTES = 1 << 20;

const encoder = new TextEncoder();

/** The default report of dropped lines: `... [warn] PID#0: N log lines dropped`. */
export function droppedLinesNotice(n: number): string {
  return formatLogLine("warn", `${n} log lines dropped`, undefined, new Date(), Deno.pid) + "\n";
}

/**
 * A line that writes itself as bytes straight into a sink's buffer
 * ({@linkcode LogSink.writeEncoded}): no string is built for it.
 */
export interface EncodedLine {
  /** Most bytes {@linkcode EncodedLine.encodeInto} writes. */
  bound(): number;
  /** Writes the whole line (UTF-8, ending in LF) into `buf` at `at`; returns where it ends. */
  encodeInto(buf: Uint8Array, at: number): number;
}

/**
 * Bytes of each buffer that encoded lines are written into (a bigger line gets its own): as much
 * as a recording writes at once (src/log/session_logs.ts), so a batch lies in one buffer.
 */
const ARENA_BYTES = 256 * 1024;

/** What waits in a sink: a string, or a run of encoded lines in one of the sink's buffers. */
interface Chunk {
  /** The text, kept as a string until its batch is written (one encoding per batch). */
  text: string;
  /** Its length in UTF-8 bytes. */
  bytes: number;
  /** For the sink's own "N log lines dropped" notice: N (the notice is not a line itself). */
  notice: number | undefined;
  /** Encoded lines: the buffer holding them (`text` is then empty), from `start`. */
  arena: Uint8Array | undefined;
  /** Where the encoded lines start in `arena`. */
  start: number;
}

/**
 * A bounded, asynchronous, never-blocking line sink.
 *
 * @example
 * ```ts
 * import { LogSink } from "./sink.ts";
 * import assert from "node:assert/strict";
 * const got: string[] = [];
 * const sink = new LogSink({
 *   write: (p) => {
 *     got.push(new TextDecoder().decode(p));
 *     return Promise.resolve(p.length);
 *   },
 * });
 * sink.write("one\n");
 * sink.write("two\n");
 * assert.ok(await sink.flush());
 * assert.equal(got.join(""), "one\ntwo\n");
 * ```
 */
export class LogSink {
  readonly #writer: SinkWriter;
  readonly #max: number;
  readonly #options: LogSinkOptions;
  #queue: Chunk[] = [];
  /** Bytes waiting plus bytes being written: what the bound limits. */
  #held = 0;
  #pump: Promise<void> | undefined;
  #pendingDrops = 0;
  #dropped = 0;
  #failing = false;
  #closed = false;
  #closing: Promise<boolean> | undefined;
  /** When the last write began (performance.now()), for coalescing. */
  #lastWrite = -Infinity;
  /** Ends a coalescing wait early (a flush, a close, or enough bytes waiting). */
  #wake: (() => void) | undefined;
  #hurry = false;
  /** Where encoded lines are written, and how far it is filled. */
  #arena: Uint8Array | undefined;
  #arenaEnd = 0;
  /** A filled buffer whose lines are all written: the next one (no new allocation). */
  #spare: Uint8Array | undefined;
  /** The last waiting chunk when it is a run of encoded lines that the next one may extend. */
  #open: Chunk | undefined;

  /** A sink over `writer`. */
  constructor(writer: SinkWriter, options: LogSinkOptions = {}) {
    this.#writer = writer;
    this.#max = options.maxBytes ?? DEFAULT_SINK_BYTES;
    this.#options = options;
  }

  /** Lines dropped since the sink was made (full buffer, failed writes, or after close). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Bytes held now (waiting or being written); never more than `maxBytes` plus one notice. */
  get buffered(): number {
    return this.#held;
  }

  /** True once {@linkcode LogSink.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Queues `text` (one or more whole lines, each ending in LF). Returns at once: true when
   * queued, false when dropped (the buffer is full, or the sink is closed).
   */
  write(text: string): boolean {
    if (this.#closed) {
      this.#dropped++;
      return false;
    }
    const bytes = utf8Length(text);
    if (this.#held + bytes > this.#max) {
      this.#dropped++;
      this.#pendingDrops++;
      return false;
    }
    if (this.#pendingDrops > 0) this.#notice();
    this.#push({ text, bytes, notice: undefined, arena: undefined, start: 0 });
    return true;
  }

  /**
   * Queues `line`, written at once as bytes into the sink's buffer (lines that follow each other
   * share one run of it: no string, no object and no copy per line). Returns as
   * {@linkcode LogSink.write} does.
   */
  writeEncoded(line: EncodedLine): boolean {
    if (this.#closed) {
      this.#dropped++;
      return false;
    }
    const bound = line.bound();
    let arena = this.#arena;
    let at = this.#arenaEnd;
    if (arena === undefined || arena.length - at < bound) {
      // The old buffer stays with the chunks that still refer to it until they are written.
      const spare = this.#spare;
      this.#spare = undefined;
      arena = this.#arena = spare !== undefined && spare.length >= bound
        ? spare
        : new Uint8Array(Math.max(ARENA_BYTES, bound));
      at = this.#arenaEnd = 0;
      this.#open = undefined;
    }
    const end = line.encodeInto(arena, at);
    const bytes = end - at;
    if (this.#held + bytes > this.#max) {
      this.#dropped++;
      this.#pendingDrops++;
      return false;
    }
    this.#arenaEnd = end;
    if (this.#pendingDrops > 0) this.#notice(); // ends the open run: the notice goes first
    const open = this.#open;
    if (open !== undefined) {
      open.bytes += bytes;
      this.#held += bytes;
      if (this.#wake && this.#held >= (this.#options.coalesceBytes ?? 65536)) this.#wake();
      return true;
    }
    const chunk: Chunk = { text: "", bytes, notice: undefined, arena, start: at };
    this.#open = chunk; // before #push: a pump it starts takes the chunk (and closes the run) at once
    this.#push(chunk);
    return true;
  }

  /**
   * Resolves once everything queued so far is written: true, or false when `timeoutMs` passed
   * first (a stalled reader) and lines are still waiting.
   */
  async flush(timeoutMs = Infinity): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    if (this.#pump) {
      this.#hurry = true;
      this.#wake?.();
    }
    while (this.#pump) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      if (left === Infinity) {
        await this.#pump;
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<"expired">((r) => timer = setTimeout(() => r("expired"), left));
      const outcome = await Promise.race([this.#pump.then(() => "done" as const), expired]);
      clearTimeout(timer);
      if (outcome === "expired") return false;
    }
    return true;
  }

  /**
   * Stops taking lines, flushes (for at most `timeoutMs`), then runs `onClose`. Idempotent.
   * Resolves to what the flush resolved to.
   */
  close(timeoutMs = Infinity): Promise<boolean> {
    this.#closed = true;
    this.#closing ??= (async () => {
      const flushed = await this.flush(timeoutMs);
      try {
        this.#options.onClose?.();
      } catch { /* already closed */ }
      return flushed;
    })();
    return this.#closing;
  }

  #notice(): void {
    const n = this.#pendingDrops;
    this.#pendingDrops = 0;
    const text = (this.#options.dropNotice ?? droppedLinesNotice)(n);
    this.#push({ text, bytes: utf8Length(text), notice: n, arena: undefined, start: 0 });
  }

  #push(chunk: Chunk): void {
    if (chunk !== this.#open) this.#open = undefined;
    this.#queue.push(chunk);
    this.#held += chunk.bytes;
    this.#pump ??= this.#run();
    if (this.#wake && this.#held >= (this.#options.coalesceBytes ?? 65536)) this.#wake();
  }

  /**
   * How long a coalescing sink waits before its next write: undefined when it may write now (not
   * coalescing, idle long enough, hurried by a flush, or holding enough bytes).
   */
  #coalesce(): Promise<void> | undefined {
    const ms = this.#options.coalesceMs ?? 0;
    if (ms <= 0) return undefined;
    const wait = this.#lastWrite + ms - performance.now();
    if (wait <= 0 || this.#hurry || this.#held >= (this.#options.coalesceBytes ?? 65536)) {
      return undefined;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
      timer = setTimeout(resolve, wait);
    }).then(() => {
      clearTimeout(timer);
      this.#wake = undefined;
    });
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const wait = this.#coalesce();
        if (wait) await wait;
        this.#lastWrite = performance.now();
        const batch = this.#queue;
        this.#queue = [];
        this.#open = undefined; // its bytes are being written: new lines start a new run
        let size = 0;
        let lines = 0;
        let noticed = 0; // drops reported by notices in this batch
        for (const c of batch) {
          size += c.bytes;
          if (c.notice === undefined) lines++;
          else noticed += c.notice;
        }
        // One encoding (and one buffer) per run of text lines, not per line; encoded lines are
        // written from the sink's buffers as they are.
        const parts = batchParts(batch);
        try {
          for (let buf of parts) {
            while (buf.length > 0) buf = buf.subarray(await this.#writer.write(buf));
          }
          if (this.#failing) {
            this.#failing = false;
            this.#callback(this.#options.onWriteRecovered);
          }
        } catch (err) {
          this.#dropped += lines;
          this.#pendingDrops += lines + noticed; // a lost notice is reported again later
          if (!this.#failing) {
            this.#failing = true;
            this.#callback(() => this.#options.onWriteError?.(err));
          }
        }
        this.#held -= size;
        this.#recycle(batch);
        // Drained after a gap: say how many lines it lost, where they were lost.
        if (this.#queue.length === 0 && this.#pendingDrops > 0 && !this.#failing) this.#notice();
      }
    } finally {
      this.#pump = undefined;
      this.#hurry = false;
    }
  }

  /**
   * After `batch` was written: a buffer it used that is full (no longer the one lines go into)
   * and that no waiting line still lies in becomes the spare, for the next buffer.
   */
  #recycle(batch: Chunk[]): void {
    let waiting: Uint8Array | undefined; // the oldest buffer a waiting line lies in
    for (const c of this.#queue) {
      if (c.arena !== undefined) {
        waiting = c.arena;
        break;
      }
    }
    for (const c of batch) {
      const arena = c.arena;
      if (
        arena !== undefined && arena !== this.#arena && arena !== waiting &&
        arena.length === ARENA_BYTES
      ) {
        this.#spare = arena;
      }
    }
  }

  #callback(fn: (() => void) | undefined): void {
    try {
      fn?.();
    } catch { /* a reporting callback must not stop the sink */ }
  }
}

function joined(chunks: Chunk[], from: number, to: number): string {
  let text = "";
  for (let i = from; i < to; i++) text += chunks[i].text;
  return text;
}

/**
 * The bytes of `batch`, in order, as few buffers as copy nothing: runs of encoded lines as they
 * lie in the sink's buffers, and each run of text lines encoded at once.
 */
function batchParts(batch: Chunk[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let from = 0;
  for (let i = 0; i <= batch.length; i++) {
    const c = batch[i];
    if (i < batch.length && c.arena === undefined) continue;
    if (i > from) {
      parts.push(encoder.encode(i - from === 1 ? batch[from].text : joined(batch, from, i)));
    }
    if (i < batch.length) parts.push(c.arena!.subarray(c.start, c.start + c.bytes));
    from = i + 1;
  }
  return parts;
}

// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/** How many bytes `TextEncoder` makes of `text` (a lone surrogate becomes U+FFFD: 3 bytes). */
function utf8Length(text: string): number {
  if (ASCII.test(text)) return text.length;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Opens `path` for appending (created if missing) and returns a sink over it that closes the
 * file when the sink is closed. Throws what `Deno.openSync` throws.
 *
 * @example
 * ```ts
 * import { openFileSink } from "./sink.ts";
 * import assert from "node:assert/strict";
 * const path = Deno.makeTempFileSync();
 * const sink = openFileSink(path);
 * sink.write("hello\n");
 * await sink.close();
 * assert.equal(Deno.readTextFileSync(path), "hello\n");
 * Deno.removeSync(path);
 * ```
 */
export function openFileSink(path: string, options: LogSinkOptions = {}): LogSink {
  const file = Deno.openSync(path, { write: true, append: true, create: true });
  return new LogSink(file, {
    ...options,
    onClose: () => {
      try {
        file.close();
      } finally {
        options.onClose?.();
      }
    },
  });
}
