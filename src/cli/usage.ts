/**
 * Help texts: the overall usage and one page per command.
 *
 * @module
 */
import type { CommandName } from "./args.ts";

/** The overall usage, printed by `--help` (stdout) and after a usage error (stderr). */
export const USAGE = `Usage: stream-echo <command> [flags]

A scriptable TCP server for testing, configured like nginx's stream echo module.

Commands:
  serve [-c FILE]      run the server (no config: the built-in "Hello, world!" on 127.0.0.1:1234)
  check -c FILE        test a config file and exit (also: stream-echo -t -c FILE)
  help [COMMAND]       show help for a command
  version              print the version (also: --version, -v, -V)

Exit codes: 0 ok, 1 config or runtime failure, 2 usage error.
Run "stream-echo help serve" for flags and signals.
`;

const SERVE =
  `Usage: stream-echo serve [--config FILE] [--error-log FILE|stderr] [--log-level LEVEL]
                         [--pid FILE] [--ready-file FILE] [--exit-after N] [--record FILE]
                         [--debug-hexdump] [--log-format nginx|json]

Runs the server until a signal stops it.

Flags:
  -c, --config FILE       config file (nginx syntax: stream { server { listen ...; echo ...; } }).
                          Without it the built-in default is served: "Hello, world!" and one
                          more line on 127.0.0.1:1234 (the module's README example 1).
  --error-log FILE|stderr where the error log goes; replaces every error_log of the config
                          (default: the config's error_log, else stderr)
  --log-level LEVEL       debug, info, notice, warn, error, crit, alert or emerg
                          (default: the config's error_log level, else info)
  --pid FILE              write the process id to FILE, removed at exit (default: the config's pid)
  --ready-file FILE       once every listener is bound, write the bound addresses (port 0
                          resolved) to FILE as JSON, atomically; removed at exit
  --exit-after N          exit 0 once N sessions have finished (graceful shutdown)
  --record FILE           one JSON line per finished session (bytes each way, addresses, times,
                          how it ended) for every server (default: the config's echo_record)
  --debug-hexdump         each read and write of each session in hex and ASCII, at debug level
                          (use with --log-level debug)
  --log-format nginx|json the error log's lines: nginx's text (default) or one JSON object each

On start one line per listener says the address actually bound ("listening on ...").

Signals:
  SIGTERM, SIGINT   fast shutdown: stop accepting, close every connection, exit 0
  SIGQUIT           graceful shutdown: stop accepting, let connections finish (capped by
                    worker_shutdown_timeout), exit 0
  SIGHUP            reload the config file; a bad config is logged and the old one kept serving
  SIGUSR1           reopen the log files: error logs, access_log and echo_record files
                    (after logrotate moved them). Deno also opens its inspector on it and
                    prints two lines of its own on stderr; stream-echo closes it again

Exit codes: 0 stopped by a signal, 1 config, listen or runtime failure, 2 usage error.
`;

const CHECK = `Usage: stream-echo check [-c|--config FILE] [-q]
       stream-echo -t [-q] -c FILE

Tests a config file the way "nginx -t" does and prints, on stderr:
  stream-echo: the configuration file FILE syntax is ok
  stream-echo: configuration file FILE test is successful
or the error (with file:line) followed by "configuration file FILE test failed".
Listeners are not bound; log files (error_log, and every access_log and echo_record the
config names, used by a server or not) are opened, and created if missing, as nginx -t does. Without --config the built-in default is checked.

Flags:
  -c, --config FILE   the config file
  -q, --quiet         print errors only
  --log-level LEVEL   also print config notices at or above LEVEL (default: notice)

Exit codes: 0 the config is valid, 1 it is not, 2 usage error.
`;

const HELP = `Usage: stream-echo help [COMMAND]

Shows the overall usage, or the help of COMMAND (serve, check, help, version).
`;

const VERSION = `Usage: stream-echo version

Prints "stream-echo VERSION" and the Deno runtime it was built with.
`;

/** The help page of one command. */
export function commandHelp(command: CommandName): string {
  switch (command) {
    case "serve":
      return SERVE;
    case "check":
      return CHECK;
    case "help":
      return HELP;
    case "version":
      return VERSION;
  }
}
