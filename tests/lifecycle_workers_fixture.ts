/**
 * An entry module for lifecycle_workers_test.ts: a lifecycle with 2 workers whose hooks record
 * what reaches them, in the main thread (`ended` reports, with the server block) and in the
 * worker thread (its own `wrap`, `prepare`, `reopen`, `exiting`). Lines go to stderr as
 * `fixture: ...`. After `STOP_AFTER` sessions (env), a worker asks the process to stop; after
 * `CRASH_AT` sessions, a worker throws an uncaught error (once: `CRASH_MARK` is the file that
 * remembers it).
 *
 *     deno run -A --unstable-net tests/lifecycle_workers_fixture.ts CONFIG
 */
import { Lifecycle } from "../src/lifecycle/lifecycle.ts";
import { isWorkerThread } from "../src/lifecycle/worker_protocol.ts";
import { runWorkerThread } from "../src/lifecycle/worker_thread.ts";
import type { ServerConfig } from "../src/config/types.ts";

const say = (line: string): void => void Deno.stderr.writeSync(new TextEncoder().encode(line));

/** Crash once per run: the first crash leaves a mark (`CRASH_MARK`, a file path). */
function crashedBefore(): boolean {
  const mark = Deno.env.get("CRASH_MARK")!;
  try {
    Deno.writeTextFileSync(mark, "crashed\n", { createNew: true });
    return false;
  } catch {
    return true;
  }
}

if (isWorkerThread()) {
  runWorkerThread({
    setup(data, ask) {
      const { stopAfter, crashAt } = data as { stopAfter: number; crashAt: number };
      let wrapped = 0;
      let asked = false;
      return {
        observer: {
          wrap(io, info) {
            wrapped++;
            ask.logger.log("notice", `fixture: worker wrapped *${info.id}`);
            return io;
          },
          ended() {
            if (stopAfter > 0 && wrapped >= stopAfter && !asked) {
              asked = true; // several sessions may be wrapped before one ends: ask once
              ask.stop("graceful", `worker asked to stop after ${stopAfter}`);
            }
            if (crashAt > 0 && wrapped >= crashAt && !crashedBefore()) {
              setTimeout(() => {
                throw new Error("fixture crash");
              });
            }
          },
        },
        prepare: (config) =>
          ask.logger.log("notice", `fixture: worker prepare ${config.servers.length}`),
        reloaded: () => ask.logger.log("notice", "fixture: worker reloaded"),
        reopen: () => ask.logger.log("notice", "fixture: worker reopen"),
        exiting: () => ask.logger.log("notice", `fixture: worker exiting after ${wrapped} wrapped`),
      };
    },
  });
} else {
  let ended = 0;
  const code = await new Lifecycle({
    config: Deno.args[0],
    stderr: say,
    workerModule: import.meta.url,
    workerData: {
      stopAfter: Number(Deno.env.get("STOP_AFTER") ?? 0),
      crashAt: Number(Deno.env.get("CRASH_AT") ?? 0),
    },
    hooks: {
      observer: {
        ended(info, result) {
          ended++;
          const server = (info as typeof info & { server?: ServerConfig }).server;
          const reply = server?.steps.map((s) =>
            "data" in s ? new TextDecoder().decode(s.data as Uint8Array) : ""
          ).join("");
          say(
            `fixture: ended *${info.id} ${result.end} ${result.bytesOut} bytes, reply ${
              JSON.stringify(reply)
            }\n`,
          );
        },
      },
      exiting: () => say(`fixture: main saw ${ended} ended\n`),
    },
  }).run();
  Deno.exit(code);
}
