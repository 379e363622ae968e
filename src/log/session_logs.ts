/**
 * What the CLI writes about sessions besides the error log: access-log lines (`access_log`),
 * recordings (`echo_record`, `--record`), hex dumps (`--debug-hexdump`), and the count behind
 * `--exit-after`. One {@linkcode SessionObserver} does all of it, reading the config generation
 * each session was accepted under, and a session that uses none of them costs two early returns.
 *
 * @module
 */
import { describeError, openFailed } from "../config/os_error.ts";
import type { Config, Position } from "../config/types.ts";
import type { SessionIO, SessionResult } from "../engine/types.ts";
import { type ChunkTap, SessionTap, tapSession } from "../lib/tap.ts";
import { conditionHolds, type LineEncoder, lineEncoder, lineFormatter } from "./access_log.ts";
import { hexdumpRows } from "./hexdump.ts";
import type { Logger } from "./logger.ts";
import {
  encodeRecordLine,
  RECORD_MAX_BYTES,
  type RecordFacts,
  recordLineBound,
} from "./record_line.ts";
import type { SessionFacts } from "./variables.ts";
import { type EncodedLine, openFileSink } from "./sink.ts";
import type { SessionInfo, SessionObserver } from "../server/types.ts";
import { LogFileOpenError } from "./log_file_error.ts";

export { LogFileOpenError };

/** A line sink for one file: never blocks, flushed and closed on demand (src/log/sink.ts). */
export interface LineSink {
  /** Queues whole lines; false when dropped. */
  write(text: string): boolean;
  /**
   * Queues one line written straight as bytes (optional: else `write` gets its text). The line is
   * encoded before it returns: `line` is reused after, and must not be kept.
   */
  writeEncoded?(line: EncodedLine): boolean;
  /** Resolves once queued lines are written (false when `ms` passed first). */
  flush(ms?: number): Promise<boolean>;
  /** Stops taking lines, flushes, closes the file. */
  close(ms?: number): Promise<boolean>;
}

/** Options for {@linkcode SessionLogs}. */
export interface SessionLogsOptions {
  /** Opens a sink appending to `path`; throws what opening the file throws. */
  openSink(path: string, options: SinkTuning): LineSink;
  /** The error log (hex dumps, and sinks that fail). */
  logger: Logger;
  /** `--record PATH`: record every session there, whatever `echo_record` says. */
  record?: string;
  /** `--debug-hexdump`: dump each read and write at debug level. */
  hexdump?: boolean;
  /**
   * Write the configs' access logs. False in a worker thread, whose sessions' ends reach the
   * main thread's access log. @default {true}
   */
  accessLogs?: boolean;
  /** `--exit-after N`: call `onLimit` once N sessions have ended. */
  exitAfter?: number;
  /** Called once when `exitAfter` sessions have ended. */
  onLimit?: () => void;
}

/**
 * How a session-log file batches its writes: a busy file writes at most every `coalesceMs`
 * (default {@linkcode DEFAULT_FLUSH_MS}) unless `coalesceBytes` wait (default 64 KiB); an idle one
 * at once. `access_log ... flush=TIME buffer=SIZE` set them.
 */
export interface SinkTuning {
  /** Longest a line of a busy file waits to share a write, in ms. */
  coalesceMs: number;
  /** Bytes waiting that make a busy file write at once. */
  coalesceBytes: number;
}

/** How long a line of a busy access log or recording may wait to share one write: 50 ms. */
export const DEFAULT_FLUSH_MS = 50;
const DEFAULT_BUFFER_BYTES = 64 * 1024;
const RECORD_BUFFER_BYTES = 256 * 1024;

/** The file a sink is for, and the directive (or flag) that named it. */
interface Wanted {
  path: string;
  pos?: Position;
  what: string;
  tuning: SinkTuning;
}

/**
 * A recorded session: the tapped io (it is its own tap), both directions' bytes while it runs
 * (each direction one run of bytes, at most {@linkcode RECORD_MAX_BYTES}, kept by
 * {@linkcode keep}: copied into shared pages, no string and no array per chunk), then how it
 * ended. One object per session (and its direct path), which is also the line its sink encodes:
 * no closure, no line string. What the session's info and result hold it reads from them (its
 * getters), not copies: a small object for as long as the session runs.
 */
class Live extends SessionTap implements RecordFacts, EncodedLine {
  receivedBuf: Uint8Array = NOTHING;
  receivedAt = 0;
  receivedLength = 0;
  /** Bytes reserved for `received` in `receivedBuf` from `receivedAt`. */
  receivedRoom = 0;
  sentBuf: Uint8Array = NOTHING;
  sentAt = 0;
  sentLength = 0;
  /** Bytes reserved for `sent` in `sentBuf` from `sentAt`. */
  sentRoom = 0;
  receivedTruncated = false;
  sentTruncated = false;
  startedAt = 0;
  endedAt = 0;
  readonly #info: SessionInfo;
  #result: SessionResult = NOT_ENDED;
  /** `--debug-hexdump`'s taps, when on. */
  readonly #dump: { read: ChunkTap; written: ChunkTap } | undefined;

  constructor(io: SessionIO, info: SessionInfo, dump?: { read: ChunkTap; written: ChunkTap }) {
    super(io);
    this.#info = info;
    this.#dump = dump;
  }

  get id(): number {
    return this.#info.id;
  }

  get serverIndex(): number {
    return this.#info.serverIndex;
  }

  get remoteAddr(): Deno.Addr {
    return this.#info.remoteAddr;
  }

  get localAddr(): Deno.Addr {
    return this.#info.localAddr;
  }

  get end(): string {
    return this.#result.end;
  }

  get reason(): string | undefined {
    return this.#result.reason;
  }

  get bytesReceived(): number {
    return this.#result.bytesIn;
  }

  get bytesSent(): number {
    return this.#result.bytesOut;
  }

  /** Copies what the cap allows of each chunk from the client. */
  tapRead(chunk: Uint8Array): void {
    this.#dump?.read(chunk);
    let n = chunk.byteLength;
    const room = RECORD_MAX_BYTES - this.receivedLength;
    if (n > room) {
      this.receivedTruncated = true;
      n = room;
    }
    if (n === 0) return;
    keep(this.receivedBuf, this.receivedAt, this.receivedLength, this.receivedRoom, chunk, n);
    this.receivedBuf = kept.buf;
    this.receivedAt = kept.at;
    this.receivedRoom = kept.room;
    this.receivedLength += n;
  }

  /** Copies what the cap allows of each chunk sent to the client. */
  tapWritten(chunk: Uint8Array): void {
    this.#dump?.written(chunk);
    let n = chunk.byteLength;
    const room = RECORD_MAX_BYTES - this.sentLength;
    if (n > room) {
      this.sentTruncated = true;
      n = room;
    }
    if (n === 0) return;
    keep(this.sentBuf, this.sentAt, this.sentLength, this.sentRoom, chunk, n);
    this.sentBuf = kept.buf;
    this.sentAt = kept.at;
    this.sentRoom = kept.room;
    this.sentLength += n;
  }

  /** The session is over: how it ended. */
  ended(result: SessionResult, startedAt: number, endedAt: number): void {
    this.#result = result;
    // A write cut short (send timeout, reset, shutdown): the socket took part of a chunk the
    // taps never saw whole. It is counted in bytesSent, not kept: the recording holds less.
    if (result.bytesOut > this.sentLength) this.sentTruncated = true;
    this.startedAt = startedAt;
    this.endedAt = endedAt;
  }

  bound(): number {
    return recordLineBound(this);
  }

  encodeInto(buf: Uint8Array, at: number): number {
    return encodeRecordLine(this, buf, at);
  }

  /** The line as text, for a sink that takes strings only. */
  text(): string {
    const buf = new Uint8Array(this.bound());
    return textDecoder.decode(buf.subarray(0, this.encodeInto(buf, 0)));
  }
}

const textDecoder = new TextDecoder();
const NOT_ENDED: SessionResult = { end: "eof", bytesIn: 0, bytesOut: 0 };
const NOTHING: Uint8Array = new Uint8Array(0);

/**
 * Bytes of each page that recordings copy their chunks into. Sessions' bytes lie side by side in
 * a page, which lives as long as a session still refers to it (a session refers to at most one
 * per direction): the price of one allocation per page instead of one string per chunk is that
 * a session open long keeps its page's other bytes too. Small, so that stays small.
 */
const PAGE_BYTES = 32 * 1024;
/** A run bigger than this gets a buffer of its own, not room in a page. */
const OWN_BYTES = PAGE_BYTES / 4;
/** The page runs are placed in now, and how far it is taken. */
let page: Uint8Array = NOTHING;
let pageEnd = 0;
/** Where {@linkcode keep} left a direction's bytes: one object for every call. */
const kept: { buf: Uint8Array; at: number; room: number } = { buf: NOTHING, at: 0, room: 0 };

/**
 * Appends the first `n` bytes of `chunk` to a direction's run (`length` bytes of `buf` from `at`,
 * `room` bytes reserved there), and says in {@linkcode kept} where the run is now:
 *
 * - within its room, or grown in place when it ends where the page is taken up to (a session
 *   whose chunks come one after another, and any first chunk, take just their bytes);
 * - else moved, with room for twice its new length (at most {@linkcode RECORD_MAX_BYTES}), so
 *   the chunks of sessions that interleave are copied a bounded number of times.
 */
function keep(
  buf: Uint8Array,
  at: number,
  length: number,
  room: number,
  chunk: Uint8Array,
  n: number,
): void {
  const want = length + n;
  if (want <= room) {
    copyChunk(buf, at + length, chunk, n);
    kept.buf = buf;
    kept.at = at;
    kept.room = room;
    return;
  }
  if (buf === page && at + room === pageEnd && at + want <= page.length) {
    copyChunk(buf, at + length, chunk, n);
    pageEnd = at + want;
    kept.buf = buf;
    kept.at = at;
    kept.room = want;
    return;
  }
  const size = length === 0 ? n : Math.min(RECORD_MAX_BYTES, 2 * want);
  let to: Uint8Array;
  let start = 0;
  if (size > OWN_BYTES) to = new Uint8Array(size);
  else {
    if (pageEnd + size > page.length) {
      page = new Uint8Array(PAGE_BYTES);
      pageEnd = 0;
    }
    to = page;
    start = pageEnd;
    pageEnd += size;
  }
  if (length > 0) to.set(buf.subarray(at, at + length), start);
  copyChunk(to, start + length, chunk, n);
  kept.buf = to;
  kept.at = start;
  kept.room = size;
}

/** Copies `n` bytes of `chunk` into `to` at `at` (short chunks byte by byte). */
function copyChunk(to: Uint8Array, at: number, chunk: Uint8Array, n: number): void {
  if (n > 16) to.set(n === chunk.length ? chunk : chunk.subarray(0, n), at);
  else for (let i = 0; i < n; i++) to[at + i] = chunk[i];
}

/**
 * A finished session's access-log line: its facts, and the line its sink encodes (through the
 * format's {@linkcode LineEncoder}, set per `access_log`). Encoding is synchronous (a sink's
 * `writeEncoded` encodes the line before it returns; conditions and formatters return at once),
 * so one object serves every session in turn: filled at a session's end, its references dropped
 * once its lines are written. No object and no line string per session.
 */
class AccessLine implements SessionFacts, EncodedLine {
  connection = 0;
  remoteAddr: Deno.Addr = NO_ADDR;
  localAddr: Deno.Addr = NO_ADDR;
  end = "";
  bytesReceived = 0;
  bytesSent = 0;
  startedAt = 0;
  endedAt = 0;
  encoder: LineEncoder | undefined = undefined;
  /** Filled for a session whose lines are being written (a line written meanwhile gets its own). */
  busy = false;

  /** Takes the facts of the session that ended. */
  fill(info: SessionInfo, result: SessionResult, startedAt: number, endedAt: number): void {
    this.busy = true;
    this.connection = info.id;
    this.remoteAddr = info.remoteAddr;
    this.localAddr = info.localAddr;
    this.end = result.end;
    this.bytesReceived = result.bytesIn;
    this.bytesSent = result.bytesOut;
    this.startedAt = startedAt;
    this.endedAt = endedAt;
  }

  /** Its lines are written: keeps nothing of the session. */
  clear(): void {
    this.remoteAddr = NO_ADDR;
    this.localAddr = NO_ADDR;
    this.encoder = undefined;
    this.busy = false;
  }

  bound(): number {
    return this.encoder!.bound(this);
  }

  encodeInto(buf: Uint8Array, at: number): number {
    return this.encoder!.encodeInto(this, buf, at);
  }
}

/** What a cleared {@linkcode AccessLine} refers to instead of a session's address. */
const NO_ADDR: Deno.Addr = Object.freeze({ transport: "tcp", hostname: "", port: 0 });

/**
 * Where a recorded session's {@linkcode Live} waits for its end: on the session's own info object,
 * not in a map. A map (old and long-lived) holding each session's young objects cost ~2.5 us per
 * recorded session (paired runs of the observe bench's exchange): its tables and the objects they
 * held were promoted at scavenges (~1.4 KB per session more promoted, scavenges half again as
 * long).
 */
const LIVE = Symbol("recording");
type Recorded = SessionInfo & { [LIVE]?: Live | undefined };

/** How long flushing waits for a stalled file at exit or reload, in ms. */
const FLUSH_MS = 2000;

/** The files a config writes to: every `access_log` and `echo_record` path (or `--record`). */
function wantedFiles(config: Config, record: string | undefined, accessLogs: boolean): Wanted[] {
  const out = new Map<string, Wanted>();
  // A recording's lines are ~10 times an access log's: a busy one writes 256 KiB at a time
  // (the sink's buffer for encoded lines), a quarter of the system calls of 64 KiB batches.
  const tuning = { coalesceMs: DEFAULT_FLUSH_MS, coalesceBytes: RECORD_BUFFER_BYTES };
  for (const s of config.servers) {
    for (const a of accessLogs ? s.accessLog ?? [] : []) {
      if (out.has(a.path)) continue;
      out.set(a.path, {
        path: a.path,
        pos: a.pos,
        what: "access_log",
        tuning: {
          coalesceMs: a.flush ?? DEFAULT_FLUSH_MS,
          coalesceBytes: a.buffer ?? DEFAULT_BUFFER_BYTES,
        },
      });
    }
    if (record === undefined && s.record && !out.has(s.record.path)) {
      out.set(s.record.path, {
        path: s.record.path,
        pos: s.record.pos,
        what: "echo_record",
        tuning,
      });
    }
  }
  if (record !== undefined && !out.has(record)) {
    out.set(record, { path: record, what: "--record", tuning });
  }
  return [...out.values()];
}

/** Bound of each access-log and recording file's buffer (a recording line may be ~1 MiB). */
const SESSION_LOG_BYTES = 8 << 20;

/**
 * Opens an access-log or recording file: a bounded asynchronous sink (8 MiB) that says on
 * `logger` when writes start failing and when they work again. Throws what opening throws.
 */
export function openSessionFile(path: string, tuning: SinkTuning, logger: Logger): LineSink {
  return openFileSink(path, {
    maxBytes: SESSION_LOG_BYTES,
    ...tuning,
    onWriteError: (err) =>
      logger.log(
        "alert",
        `write() to "${path}" failed (${
          describeError(err)
        }): its lines are lost until it takes them again`,
      ),
    onWriteRecovered: () => logger.log("notice", `"${path}" takes lines again`),
  });
}

/** The access logs, recordings, hex dumps and session count of one CLI server. */
export class SessionLogs {
  readonly #options: SessionLogsOptions;
  #sinks = new Map<string, LineSink>();
  #tuning = new Map<string, SinkTuning>();
  /** What `open(config)` added (sinks, tunings), for configs not yet retired or abandoned. */
  #openedFor = new Map<Config, { sinks: string[]; tunings: string[] }>();
  #ended = 0;
  #hexdump: boolean;
  #accessLogs: boolean;
  /** The facts of the session whose access-log lines are being written (one for all). */
  readonly #accessLine = new AccessLine();
  /** The observer to hand to `startServer`. */
  readonly observer: SessionObserver;

  constructor(options: SessionLogsOptions) {
    this.#options = options;
    this.#hexdump = options.hexdump === true;
    this.#accessLogs = options.accessLogs !== false;
    this.observer = {
      wrap: (io, info) => this.#wrap(io, info),
      ended: (info, result, startedAt, endedAt) => this.#end(info, result, startedAt, endedAt),
    };
  }

  /** Sessions that have ended so far. */
  get ended(): number {
    return this.#ended;
  }

  /**
   * Opens the files `config` writes to that are not open yet (at start, and on reload before the
   * new config is swapped in). Throws {@linkcode LogFileOpenError} when one cannot be opened,
   * having closed those this call opened; files already open stay open and in use.
   */
  async open(config: Config): Promise<void> {
    const wanted = wantedFiles(config, this.#options.record, this.#accessLogs);
    const opened = new Map<string, LineSink>();
    for (const w of wanted) {
      if (this.#sinks.has(w.path)) continue;
      try {
        opened.set(w.path, this.#options.openSink(w.path, w.tuning));
      } catch (err) {
        await Promise.all([...opened.values()].map((s) => s.close(FLUSH_MS)));
        throw new LogFileOpenError(w.path, err, w.what, w.pos);
      }
    }
    for (const [path, sink] of opened) this.#sinks.set(path, sink);
    const tunings: string[] = [];
    for (const w of wanted) {
      if (this.#tuning.has(w.path)) continue;
      this.#tuning.set(w.path, w.tuning);
      tunings.push(w.path);
    }
    this.#openedFor.set(config, { sinks: [...opened.keys()], tunings });
  }

  /**
   * A reload failed after `open(config)`: flushes and closes the files that call opened (the
   * running config's files, opened before, stay open and in use).
   */
  async abandon(config: Config): Promise<void> {
    const added = this.#openedFor.get(config);
    if (added === undefined) return;
    this.#openedFor.delete(config);
    for (const path of added.tunings) this.#tuning.delete(path);
    const closing: LineSink[] = [];
    for (const path of added.sinks) {
      const sink = this.#sinks.get(path);
      if (sink === undefined) continue;
      this.#sinks.delete(path);
      closing.push(sink);
    }
    await Promise.all(closing.map((s) => s.close(FLUSH_MS)));
  }

  /**
   * After a reload: flushes every file, and closes those `config` no longer names (a session of
   * the old config that ends later opens its file again, until the next reload).
   */
  async retire(config: Config): Promise<void> {
    this.#openedFor.clear();
    const wanted = wantedFiles(config, this.#options.record, this.#accessLogs);
    const keep = new Set(wanted.map((w) => w.path));
    const stale: LineSink[] = [];
    for (const [path, sink] of this.#sinks) {
      if (!keep.has(path)) {
        stale.push(sink);
        this.#sinks.delete(path);
      }
    }
    this.#tuning = new Map(wanted.map((w) => [w.path, w.tuning]));
    await Promise.all([...stale.map((s) => s.close(FLUSH_MS)), this.flush()]);
  }

  /** SIGUSR1: every file is opened again by name (after logrotate moved it), the old closed. */
  async reopen(): Promise<void> {
    const old = [...this.#sinks];
    for (const [path, sink] of old) {
      try {
        this.#sinks.set(path, this.#options.openSink(path, this.#tuningOf(path)));
      } catch (err) {
        this.#options.logger.log(
          "alert",
          `${openFailed(path, err)}: still writing to the old file`,
        );
        continue;
      }
      await sink.close(FLUSH_MS);
    }
  }

  /** Waits until every line so far is written (bounded). */
  async flush(): Promise<void> {
    await Promise.all([...this.#sinks.values()].map((s) => s.flush(FLUSH_MS)));
  }

  /** Flushes and closes every file (at exit). */
  async close(): Promise<void> {
    const sinks = [...this.#sinks.values()];
    this.#sinks.clear();
    await Promise.all(sinks.map((s) => s.close(FLUSH_MS)));
  }

  #recordPath(info: SessionInfo): string | undefined {
    return this.#options.record ?? info.server.record?.path;
  }

  #wrap(io: SessionIO, info: SessionInfo): SessionIO {
    const record = this.#recordPath(info) !== undefined;
    const dump = this.#hexdump && this.#options.logger.enabled("debug")
      ? this.#dumper(info)
      : undefined;
    if (record) {
      const live = new Live(io, info, dump);
      (info as Recorded)[LIVE] = live;
      return live;
    }
    return dump ? tapSession(io, dump.read, dump.written) : io;
  }

  /** `--debug-hexdump`'s taps for one session. */
  #dumper(info: SessionInfo): { read: ChunkTap; written: ChunkTap } {
    const logger = this.#options.logger;
    const ctx = { connection: info.id };
    const dumper = (way: string) => (chunk: Uint8Array) => {
      logger.log("debug", `${chunk.byteLength} bytes ${way} client:`, ctx);
      for (const row of hexdumpRows(chunk)) logger.log("debug", row, ctx);
    };
    return { read: dumper("from"), written: dumper("to") };
  }

  #end(info: SessionInfo, result: SessionResult, startedAt: number, endedAt: number): void {
    const accessLog = this.#accessLogs ? info.server.accessLog : undefined;
    const live = (info as Recorded)[LIVE];
    if (accessLog !== undefined || live !== undefined) {
      if (accessLog !== undefined) {
        const shared = this.#accessLine;
        const line = shared.busy ? new AccessLine() : shared;
        line.fill(info, result, startedAt, endedAt);
        try {
          for (const target of accessLog) {
            if (target.condition && !conditionHolds(target.condition, line)) continue;
            const sink = this.#sink(target.path);
            if (sink?.writeEncoded) {
              line.encoder = lineEncoder(target.format);
              sink.writeEncoded(line);
            } else sink?.write(lineFormatter(target.format)(line) + "\n");
          }
        } finally {
          line.clear();
        }
      }
      if (live !== undefined) {
        (info as Recorded)[LIVE] = undefined; // (not deleted: the object keeps its shape)
        live.ended(result, startedAt, endedAt);
        const sink = this.#sink(this.#recordPath(info)!);
        if (sink?.writeEncoded) sink.writeEncoded(live);
        else sink?.write(live.text());
      }
    }
    this.#ended++;
    if (this.#ended === this.#options.exitAfter) this.#options.onLimit?.();
  }

  #tuningOf(path: string): SinkTuning {
    return this.#tuning.get(path) ??
      { coalesceMs: DEFAULT_FLUSH_MS, coalesceBytes: DEFAULT_BUFFER_BYTES };
  }

  /** The sink for `path`; a path a reload dropped is opened again for a late session. */
  #sink(path: string): LineSink | undefined {
    let sink = this.#sinks.get(path);
    if (sink === undefined) {
      try {
        sink = this.#options.openSink(path, this.#tuningOf(path));
      } catch (err) {
        this.#options.logger.log("alert", `${openFailed(path, err)}: line lost`);
        return undefined;
      }
      this.#sinks.set(path, sink);
    }
    return sink;
  }
}
