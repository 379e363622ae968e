/**
 * The one declarative table of directives: for each name, the contexts it is allowed in,
 * how many arguments it takes, whether it opens a block, and the function that compiles it
 * into plain data. Context, block and argument checks are done generically by the compiler.
 *
 * @module
 */

import {
  compileDiscardRequest,
  compileDuplicate,
  compileEcho,
  compileFlushWait,
  compileReadBytes,
  compileReadLine,
  compileRequestData,
  compileSleep,
} from "./echo_steps.ts";
import {
  compileBreak,
  compileDefault,
  compileLoop,
  compileMatch,
  compileWhen,
  STEP_CONTEXTS,
} from "./block_steps.ts";
import {
  compileClose,
  compileRandomBytes,
  compileReset,
  compileSendChunk,
  compileSendLimit,
  compileSendRate,
  compileShutdown,
} from "./fault_steps.ts";
import { compileChance, compileSplit } from "./split_steps.ts";
import { compileInclude } from "./include.ts";
import { compileAccessLog, compileEchoRecord, compileLogFormat } from "./log_directives.ts";
import {
  compileErrorLog,
  compileEvents,
  compilePid,
  compileWorkerConnections,
  compileWorkerProcesses,
  compileWorkerShutdownTimeout,
  flag,
  ignored,
  ignoredOnce,
  number,
} from "./main_directives.ts";
import type { Directive } from "./parser.ts";
import {
  compileClearRequestData,
  compileFlush,
  compileReadLength,
  compileReadLiteral,
  compileReadRegex,
  compileReadUntil,
  compileTestRequestData,
} from "./read_directives.ts";
import type { ContextName, Scope } from "./scope.ts";
import { setting, timeValue } from "./settings.ts";
import {
  compileListen,
  compileServer,
  compileStream,
  compileUnsupportedBlock,
} from "./stream_directives.ts";
import { compileSslCertificate, compileSslCertificateKey } from "./tls.ts";

/** How one directive is checked and compiled. */
export interface DirectiveSpec {
  /** Blocks the directive may appear in. */
  contexts: readonly ContextName[];
  /** Fewest and most arguments (after the name); `Infinity` for no upper bound. */
  args: readonly [min: number, max: number];
  /** True when the directive must open a `{ ... }` block; false when it must end with `;`. */
  block: boolean;
  /** Turns the (already checked) directive into data in the scope's state. */
  compile(d: Directive, scope: Scope): void;
  /**
   * True when the arguments are text sent to the client (`echo`, `echo_duplicate`): a
   * directive name among them on a later line draws the missing-`;` warning.
   */
  textArgs?: boolean;
}

const ANY: readonly ContextName[] = ["main", "events", "stream", "server"];
const MAIN: readonly ContextName[] = ["main"];
const EVENTS: readonly ContextName[] = ["events"];
const STREAM: readonly ContextName[] = ["stream"];
const SERVER: readonly ContextName[] = ["server"];
/** Step directives: `server {}` and every step block body (loops, branches). */
const STEPS: readonly ContextName[] = STEP_CONTEXTS;
const MATCH: readonly ContextName[] = ["match"];
const STREAM_SERVER: readonly ContextName[] = ["stream", "server"];

const FOREGROUND = "stream-echo runs in the foreground under your supervisor";
const ONE_PROCESS = "stream-echo has no master process";
const NO_SWITCH = "stream-echo runs as the user that starts it";
const NO_RLIMIT = "stream-echo leaves file limits to the system";
const NO_ENV = "stream-echo keeps its whole environment";
const BUILT_IN = "everything stream-echo serves is built in";
const RUNTIME_EVENTS = "the runtime picks the event method";

function entry(
  contexts: readonly ContextName[],
  args: readonly [number, number],
  compile: (d: Directive, scope: Scope) => void,
  block = false,
): DirectiveSpec {
  return { contexts, args, compile, block };
}

/** Marks a directive whose arguments are text sent to the client. */
export function sendsText(spec: DirectiveSpec): DirectiveSpec {
  return { ...spec, textArgs: true };
}

/** Every directive stream-echo knows, by name. */
export const DIRECTIVES: ReadonlyMap<string, DirectiveSpec> = new Map([
  // any context
  ["include", entry([...ANY, "loop", "branch", "match"], [1, 1], compileInclude)],

  // main context
  ["worker_processes", entry(MAIN, [1, 1], compileWorkerProcesses)],
  ["error_log", entry(["main", "stream", "server"], [1, 2], compileErrorLog)],
  ["pid", entry(MAIN, [1, 1], compilePid)],
  ["worker_shutdown_timeout", entry(MAIN, [1, 1], compileWorkerShutdownTimeout)],
  ["daemon", entry(MAIN, [1, 1], ignoredOnce(FOREGROUND, flag))],
  ["master_process", entry(MAIN, [1, 1], ignoredOnce(ONE_PROCESS, flag))],
  ["user", entry(MAIN, [1, 2], ignoredOnce(NO_SWITCH))],
  ["worker_rlimit_nofile", entry(MAIN, [1, 1], ignoredOnce(NO_RLIMIT, number))],
  ["env", entry(MAIN, [1, 1], ignored(NO_ENV))],
  ["load_module", entry(MAIN, [1, 1], ignored(BUILT_IN))],
  ["events", entry(MAIN, [0, 0], compileEvents, true)],
  ["stream", entry(MAIN, [0, 0], compileStream, true)],
  ["http", entry(ANY, [0, Infinity], compileUnsupportedBlock, true)],
  ["mail", entry(ANY, [0, Infinity], compileUnsupportedBlock, true)],

  // events context
  ["worker_connections", entry(EVENTS, [1, 1], compileWorkerConnections)],
  ["use", entry(EVENTS, [1, 1], ignoredOnce(RUNTIME_EVENTS))],
  ["multi_accept", entry(EVENTS, [1, 1], ignoredOnce(RUNTIME_EVENTS, flag))],
  ["accept_mutex", entry(EVENTS, [1, 1], ignoredOnce(ONE_PROCESS, flag))],
  ["accept_mutex_delay", entry(EVENTS, [1, 1], ignoredOnce(ONE_PROCESS, (d) => void timeValue(d)))],

  // stream context
  ["server", entry(STREAM, [0, 0], compileServer, true)],
  ["ssl_certificate", entry(STREAM_SERVER, [1, 1], compileSslCertificate)],
  ["ssl_certificate_key", entry(STREAM_SERVER, [1, 1], compileSslCertificateKey)],
  ["log_format", entry(STREAM, [2, Infinity], compileLogFormat)],
  ["access_log", entry(STREAM_SERVER, [1, Infinity], compileAccessLog)],
  ["echo_record", entry(STREAM_SERVER, [1, 1], compileEchoRecord)],

  // server context
  ["listen", entry(SERVER, [1, Infinity], compileListen)],
  ["echo", sendsText(entry(STEPS, [0, Infinity], compileEcho))],
  ["echo_duplicate", sendsText(entry(STEPS, [2, Infinity], compileDuplicate))],
  ["echo_sleep", entry(STEPS, [1, Infinity], compileSleep)],
  ["echo_flush_wait", entry(STEPS, [0, 0], compileFlushWait)],
  ["echo_read_bytes", entry(STEPS, [1, 2], compileReadBytes)],
  ["echo_read_line", entry(STEPS, [0, 0], compileReadLine)],
  ["echo_request_data", entry(STEPS, [0, 0], compileRequestData)],
  ["echo_discard_request", entry(STEPS, [0, 0], compileDiscardRequest)],

  // conversations: step directives, in server {} and every step block
  ["echo_read_until", entry(STEPS, [1, 3], compileReadUntil)],
  ["echo_read_literal", entry(STEPS, [1, 3], compileReadLiteral)],
  ["echo_test_request_data", entry(STEPS, [1, 3], compileTestRequestData)],
  ["echo_read_regex", entry(STEPS, [1, 3], compileReadRegex)],
  ["echo_read_length", entry(STEPS, [1, 2], compileReadLength)],
  ["echo_clear_request_data", entry(STEPS, [0, 0], compileClearRequestData)],
  ["echo_flush", entry(STEPS, [0, 0], compileFlush)],
  ["echo_loop", entry(STEPS, [0, 1], compileLoop, true)],
  ["echo_break", entry(STEPS, [0, 0], compileBreak)],
  ["echo_match", entry(STEPS, [0, 1], compileMatch, true)],
  ["when", entry(MATCH, [1, 4], compileWhen, true)],
  ["default", entry(MATCH, [0, 0], compileDefault, true)],

  // faults (issue 11): steps, usable anywhere a step is
  ["echo_close", entry(STEPS, [0, 0], compileClose)],
  ["echo_reset", entry(STEPS, [0, 0], compileReset)],
  ["echo_shutdown", entry(STEPS, [0, 0], compileShutdown)],
  ["echo_send_rate", entry(STEPS, [1, 1], compileSendRate)],
  ["echo_send_chunk", entry(STEPS, [1, 2], compileSendChunk)],
  ["echo_send_limit", entry(STEPS, [1, 2], compileSendLimit)],
  ["echo_random_bytes", entry(STEPS, [1, 1], compileRandomBytes)],
  ["echo_split", entry(STEPS, [0, 0], compileSplit, true)],
  ["echo_chance", entry(STEPS, [1, 1], compileChance, true)],

  // echo settings: stream and server context, inherited by servers
  ["echo_send_timeout", entry(STREAM_SERVER, [1, 1], setting("sendTimeout"))],
  ["echo_read_timeout", entry(STREAM_SERVER, [1, 1], setting("readTimeout"))],
  ["echo_read_buffer_size", entry(STREAM_SERVER, [1, 1], setting("readBufferSize"))],
  ["echo_client_error_log_level", entry(STREAM_SERVER, [1, 1], setting("clientErrorLogLevel"))],
  ["echo_lingering_close", entry(STREAM_SERVER, [1, 1], setting("lingeringClose"))],
  ["echo_lingering_time", entry(STREAM_SERVER, [1, 1], setting("lingeringTime"))],
  ["echo_lingering_timeout", entry(STREAM_SERVER, [1, 1], setting("lingeringTimeout"))],
  ["echo_mismatch_action", entry(STREAM_SERVER, [1, 1], setting("mismatchAction"))],
  ["postpone_output", entry(STREAM_SERVER, [1, 1], setting("postponeOutput"))],
  ["echo_random_seed", entry(STREAM_SERVER, [1, 1], setting("randomSeed"))],
]);
