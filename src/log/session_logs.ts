/**
 * What the CLI writes about sessions besides the error log: access-log lines (`access_log`),
 * recordings (`echo_record`, `--record`), hex dumps (`--debug-hexdump`), and the count behind
 * `--exit-after`. One {@linkcode SessionObserver} does all of it, reading the config generation
 * each session was accepted under, and a session that uses none of them costs two early returns.
 *
 * @module
 */
import { bytesToBinary } from "../config/bytes.ts";
import { describeError, openFailed } from "../config/os_error.ts";
import type { Config, Position } from "../config/types.ts";
import type { SessionIO, SessionResult } from "../engine/types.ts";
import { tapSession } from "../lib/tap.ts";
import { conditionHolds, lineFormatter } from "./access_log.ts";
import { hexdumpRows } from "./hexdump.ts";
import type { Logger } from "./logger.ts";
import { RECORD_MAX_BYTES, recordLine } from "./record_line.ts";
import type { SessionFacts } from "./variables.ts";
import { openFileSink } from "./sink.ts";
import type { SessionInfo, SessionObserver } from "../server/types.ts";

/** A line sink for one file: never blocks, flushed and closed on demand (src/log/sink.ts). */
export interface LineSink {
  /** Queues whole lines; false when dropped. */
  write(text: string): boolean;
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

/** The file a sink is for, and the directive (or flag) that named it. */
interface Wanted {
  path: string;
  pos?: Position;
  what: string;
  tuning: SinkTuning;
}

/**
 * What a recorded session keeps while it runs: both directions' bytes (binary strings, one
 * character per byte, capped at {@linkcode RECORD_MAX_BYTES} each) in one object, with the two
 * taps that fill it.
 */
class Live {
  received = "";
  sent = "";
  receivedTruncated = false;
  sentTruncated = false;
  /** The read tap: copies what the cap allows of each chunk from the client. */
  readonly onRead = (chunk: Uint8Array): void => {
    const room = RECORD_MAX_BYTES - this.received.length;
    if (chunk.byteLength > room) {
      this.receivedTruncated = true;
      chunk = chunk.subarray(0, room);
    }
    if (chunk.byteLength > 0) this.received += bytesToBinary(chunk);
  };
  /** The write tap: copies what the cap allows of each chunk sent to the client. */
  readonly onWrite = (chunk: Uint8Array): void => {
    const room = RECORD_MAX_BYTES - this.sent.length;
    if (chunk.byteLength > room) {
      this.sentTruncated = true;
      chunk = chunk.subarray(0, room);
    }
    if (chunk.byteLength > 0) this.sent += bytesToBinary(chunk);
  };
}

/** How long flushing waits for a stalled file at exit or reload, in ms. */
const FLUSH_MS = 2000;

/** The files a config writes to: every `access_log` and `echo_record` path (or `--record`). */
function wantedFiles(config: Config, record: string | undefined, accessLogs: boolean): Wanted[] {
  const out = new Map<string, Wanted>();
  const tuning = { coalesceMs: DEFAULT_FLUSH_MS, coalesceBytes: DEFAULT_BUFFER_BYTES };
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

/** A log or recording file that cannot be opened, naming the directive (file:line) or flag. */
export class LogFileOpenError extends Error {
  /** `what` named `path`: a directive at `pos`, or a flag. */
  constructor(path: string, cause: unknown, what: string, pos?: Position) {
    super(
      openFailed(path, cause) +
        (pos ? ` for "${what}" in ${pos.file}:${pos.line}` : ` for ${what}`),
      { cause },
    );
    this.name = "LogFileOpenError";
  }
}

/** The access logs, recordings, hex dumps and session count of one CLI server. */
export class SessionLogs {
  readonly #options: SessionLogsOptions;
  #sinks = new Map<string, LineSink>();
  #tuning = new Map<string, SinkTuning>();
  /** What `open(config)` added (sinks, tunings), for configs not yet retired or abandoned. */
  #openedFor = new Map<Config, { sinks: string[]; tunings: string[] }>();
  #live = new Map<SessionInfo, Live>();
  #ended = 0;
  #hexdump: boolean;
  #accessLogs: boolean;
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
    const dump = this.#hexdump && this.#options.logger.enabled("debug");
    if (!record && !dump) return io;
    let live: Live | undefined;
    if (record) {
      live = new Live();
      this.#live.set(info, live);
    }
    if (!dump) return tapSession(io, live!.onRead, live!.onWrite);
    const logger = this.#options.logger;
    const ctx = { connection: info.id };
    const dumper = (way: string) => (chunk: Uint8Array) => {
      logger.log("debug", `${chunk.byteLength} bytes ${way} client:`, ctx);
      for (const row of hexdumpRows(chunk)) logger.log("debug", row, ctx);
    };
    const read = dumper("from");
    const written = dumper("to");
    return tapSession(
      io,
      (c) => {
        live?.onRead(c);
        read(c);
      },
      (c) => {
        live?.onWrite(c);
        written(c);
      },
    );
  }

  #end(info: SessionInfo, result: SessionResult, startedAt: number, endedAt: number): void {
    const accessLog = this.#accessLogs ? info.server.accessLog : undefined;
    const live = this.#live.size > 0 ? this.#live.get(info) : undefined;
    if (accessLog !== undefined || live !== undefined) {
      const { bytesIn, bytesOut } = result;
      if (accessLog !== undefined) {
        const facts: SessionFacts = {
          connection: info.id,
          remoteAddr: info.remoteAddr,
          localAddr: info.localAddr,
          end: result.end,
          bytesReceived: bytesIn,
          bytesSent: bytesOut,
          startedAt,
          endedAt,
        };
        for (const target of accessLog) {
          if (target.condition && !conditionHolds(target.condition, facts)) continue;
          this.#sink(target.path)?.write(lineFormatter(target.format)(facts) + "\n");
        }
      }
      if (live !== undefined) {
        this.#live.delete(info);
        const line = recordLine({
          id: info.id,
          serverIndex: info.serverIndex,
          remoteAddr: info.remoteAddr,
          localAddr: info.localAddr,
          received: live.received,
          sent: live.sent,
          truncated: { received: live.receivedTruncated, sent: live.sentTruncated },
          end: result.end,
          reason: result.reason, // recordLine leaves an undefined reason out, as before
          startedAt,
          endedAt,
        }, { received: bytesIn, sent: bytesOut });
        this.#sink(this.#recordPath(info)!)?.write(line);
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
