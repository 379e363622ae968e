import type { Listen } from "../config/types.ts";

/**
 * A `listen` directive that could not be bound: the address is in use, not permitted, not
 * available on this host, or (for `unix:`) a live socket already answers there. The message
 * names the directive and where it was written, as nginx's `bind()` errors do:
 *
 *     bind() to 127.0.0.1:1234 failed (98: Address already in use)
 *       for "listen 127.0.0.1:1234" in se.conf:3
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ListenError } from "./listen_error.ts";
 * const err = new ListenError("Address already in use", {
 *   kind: "tcp", address: "127.0.0.1:1234", hostname: "127.0.0.1", port: 1234, ssl: false,
 *   reusePort: false, pos: { file: "se.conf", line: 3 },
 * });
 * assert.ok(err.message.endsWith('for "listen 127.0.0.1:1234" in se.conf:3'));
 * ```
 */
export class ListenError extends Error {
  /** The operating system's reason, e.g. "Address already in use". */
  readonly reason: string;
  /** The `listen` argument as written. */
  readonly address: string;
  /** The file of the `listen` directive. */
  readonly file: string;
  /** The 1-based line of the `listen` directive. */
  readonly line: number;

  /** `reason` is the OS's (e.g. "98: Address already in use"), `listen` the directive. */
  constructor(reason: string, listen: Listen, options?: ErrorOptions) {
    const where = listen.kind === "unix" ? `unix:${listen.path}` : listen.address;
    super(
      `bind() to ${where} failed (${reason}) for "listen ${listen.address}" ` +
        `in ${listen.pos.file}:${listen.pos.line}`,
      options,
    );
    this.name = "ListenError";
    this.reason = reason;
    this.address = listen.address;
    this.file = listen.pos.file;
    this.line = listen.pos.line;
  }
}
