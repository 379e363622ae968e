/**
 * Command-line parsing: commands, flags and nginx-style short options (`-t -c FILE`).
 *
 * @module
 */
import type { LogLevel, LogLineFormat } from "../log/logger.ts";
import { LOG_LEVELS } from "../log/logger.ts";

/** The commands the CLI knows. */
export const COMMANDS = ["serve", "check", "help", "version"] as const;

/** One of {@linkcode COMMANDS}. */
export type CommandName = typeof COMMANDS[number];

/** What the command line asks for. */
export interface Invocation {
  /** The command to run (`-t` means "check", `--version` "version", `--help` "help"). */
  command: CommandName;
  /** `--config FILE` / `-c FILE`; absent means the built-in default config. */
  config?: string;
  /** `--error-log FILE|stderr`: replaces every `error_log` of the config. */
  errorLog?: string;
  /** `--log-level LEVEL`: the level of every error log. */
  logLevel?: LogLevel;
  /** `--pid FILE`: replaces the config's `pid`. */
  pid?: string;
  /** `-q`: with `check`, print errors only. */
  quiet?: boolean;
  /** `help <command>`: the command to explain. */
  topic?: CommandName;
  /** `--ready-file FILE`: the bound addresses as JSON, written once every listener is bound. */
  readyFile?: string;
  /** `--exit-after N`: exit 0 once N sessions have finished. */
  exitAfter?: number;
  /** `--record FILE`: one JSON line per finished session, for every server. */
  record?: string;
  /** `--debug-hexdump`: each read and write in hex and ASCII on the error log at debug. */
  debugHexdump?: boolean;
  /** `--log-format nginx|json`: the error log's line format. */
  logFormat?: LogLineFormat;
}

/** A command line that cannot be understood: the CLI prints usage and exits 2. */
export class UsageError extends Error {
  /** `message` says what is wrong, e.g. `unknown flag "--x"`. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Which flags each command accepts. */
const FLAGS: Record<CommandName, readonly string[]> = {
  serve: [
    "config",
    "error-log",
    "log-level",
    "pid",
    "ready-file",
    "exit-after",
    "record",
    "debug-hexdump",
    "log-format",
  ],
  check: ["config", "quiet", "log-level"],
  help: [],
  version: [],
};

const SHORT: Record<string, string> = { c: "config", q: "quiet" };
/** Flags without a value; every other flag of {@linkcode FLAGS} takes one. */
const SWITCHES = new Set(["quiet", "debug-hexdump"]);
const VALUED = new Set(Object.values(FLAGS).flat().filter((f) => !SWITCHES.has(f)));

/**
 * Parses the arguments after the program name. Throws {@linkcode UsageError} for an unknown
 * command or flag, a missing value, or a flag the command does not take.
 *
 * Accepted shapes: `serve [-c FILE]`, `check [-c FILE]`, `-t [-c FILE]` (as `nginx -t`),
 * `help [COMMAND]`, `version`, `--version`/`-v`/`-V`, `--help`/`-h`/`-?`. Flags may come
 * before or after the command, as `--flag value` or `--flag=value`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgs } from "./args.ts";
 * const inv = parseArgs(["-t", "-c", "se.conf"]);
 * assert.equal(inv.command, "check");
 * assert.equal(inv.config, "se.conf");
 * ```
 */
export function parseArgs(args: readonly string[]): Invocation {
  let command: CommandName | undefined;
  let topic: CommandName | undefined;
  const flags = new Map<string, string | true>();
  const setCommand = (name: CommandName, how: string) => {
    if (command !== undefined && command !== name) {
      throw new UsageError(`${how} cannot be combined with "${command}"`);
    }
    command = name;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") throw new UsageError(`unexpected "--"`);
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      if (name === "help") {
        setCommand("help", "--help");
        continue;
      }
      if (name === "version") {
        setCommand("version", "--version");
        continue;
      }
      if (!VALUED.has(name) && !SWITCHES.has(name)) {
        throw new UsageError(`unknown flag "--${name}"`);
      }
      if (VALUED.has(name)) {
        const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
        if (value === undefined || value === "") {
          throw new UsageError(`flag "--${name}" needs a value`);
        }
        flags.set(name, value);
      } else {
        if (eq >= 0) throw new UsageError(`flag "--${name}" takes no value`);
        flags.set(name, true);
      }
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      // nginx-style clusters: -t, -q, -tq, -c FILE, -cFILE, -tc FILE
      for (let j = 1; j < arg.length; j++) {
        const ch = arg[j];
        if (ch === "t") setCommand("check", "-t");
        else if (ch === "h" || ch === "?") setCommand("help", `-${ch}`);
        else if (ch === "v" || ch === "V") setCommand("version", `-${ch}`);
        else if (SHORT[ch] !== undefined) {
          const name = SHORT[ch];
          if (!VALUED.has(name)) {
            flags.set(name, true);
            continue;
          }
          const rest = arg.slice(j + 1);
          const value = rest !== "" ? rest : args[++i];
          if (value === undefined || value === "") {
            throw new UsageError(`flag "-${ch}" needs a value`);
          }
          flags.set(name, value);
          break;
        } else throw new UsageError(`unknown flag "-${ch}"`);
      }
      continue;
    }
    if (command === undefined) {
      if (!isCommand(arg)) throw new UsageError(`unknown command "${arg}"`);
      command = arg;
    } else if (command === "help" && topic === undefined) {
      if (!isCommand(arg)) throw new UsageError(`unknown command "${arg}"`);
      topic = arg;
    } else {
      throw new UsageError(`unexpected argument "${arg}"`);
    }
  }
  if (command === undefined) throw new UsageError("no command given");
  for (const name of flags.keys()) {
    if (!FLAGS[command].includes(name)) {
      throw new UsageError(`flag "--${name}" is not valid for "${command}"`);
    }
  }
  const inv: Invocation = { command };
  const config = flags.get("config");
  if (typeof config === "string") inv.config = config;
  const errorLog = flags.get("error-log");
  if (typeof errorLog === "string") inv.errorLog = errorLog;
  const pid = flags.get("pid");
  if (typeof pid === "string") inv.pid = pid;
  const level = flags.get("log-level");
  if (typeof level === "string") {
    if (!(LOG_LEVELS as readonly string[]).includes(level)) {
      throw new UsageError(`invalid log level "${level}" (one of ${LOG_LEVELS.join(", ")})`);
    }
    inv.logLevel = level as LogLevel;
  }
  if (flags.get("quiet") === true) inv.quiet = true;
  if (flags.get("debug-hexdump") === true) inv.debugHexdump = true;
  for (const name of ["ready-file", "record"] as const) {
    const value = flags.get(name);
    if (typeof value === "string") inv[name === "ready-file" ? "readyFile" : "record"] = value;
  }
  const exitAfter = flags.get("exit-after");
  if (typeof exitAfter === "string") {
    const n = /^[0-9]{1,9}$/.test(exitAfter) ? Number(exitAfter) : 0;
    if (n < 1) {
      throw new UsageError(
        `invalid --exit-after "${exitAfter}" (a whole number of sessions, >= 1)`,
      );
    }
    inv.exitAfter = n;
  }
  const logFormat = flags.get("log-format");
  if (typeof logFormat === "string") {
    if (logFormat !== "nginx" && logFormat !== "json") {
      throw new UsageError(`invalid --log-format "${logFormat}" (nginx or json)`);
    }
    inv.logFormat = logFormat;
  }
  if (topic !== undefined) inv.topic = topic;
  return inv;
}

/** Is `s` one of the command names? */
export function isCommand(s: string): s is CommandName {
  return (COMMANDS as readonly string[]).includes(s);
}
