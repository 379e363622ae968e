/**
 * A small memcached text-protocol client, the kind of code a user would test against a
 * stream-echo mock. It is deliberately ordinary: one connection, a per-request timeout, and
 * errors that say what went wrong instead of hanging or crashing.
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The server did not answer within the client's timeout. */
export class MemcachedTimeoutError extends Error {
  override name = "MemcachedTimeoutError";
}

/** The connection was closed or reset before a whole reply arrived. */
export class MemcachedConnectionError extends Error {
  override name = "MemcachedConnectionError";
}

/** The server sent something that is not memcached's protocol. */
export class MemcachedProtocolError extends Error {
  override name = "MemcachedProtocolError";
}

export interface ClientOptions {
  /** Milliseconds a request may take. @default {1000} */
  timeout?: number;
}

/** One item of a `get` reply. */
export interface Item {
  flags: number;
  value: Uint8Array;
}

export class MemcachedClient {
  #conn: Deno.Conn;
  #timeout: number;
  #buf = new Uint8Array(0);
  #closed = false;

  private constructor(conn: Deno.Conn, timeout: number) {
    this.#conn = conn;
    this.#timeout = timeout;
  }

  static async connect(port: number, options: ClientOptions = {}): Promise<MemcachedClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    return new MemcachedClient(conn, options.timeout ?? 1000);
  }

  /** `get KEY`: the item, or undefined when the server has none. */
  async get(key: string): Promise<Item | undefined> {
    return await this.#request(`get ${key}\r\n`, async () => {
      const line = await this.#line();
      if (line === "END") return undefined;
      const m = /^VALUE (\S+) (\d+) (\d+)$/.exec(line);
      if (!m || m[1] !== key) throw new MemcachedProtocolError(`unexpected reply ${line}`);
      const value = await this.#bytes(Number(m[3]) + 2);
      const end = await this.#line();
      if (end !== "END") throw new MemcachedProtocolError(`expected END, got ${end}`);
      return { flags: Number(m[2]), value: value.subarray(0, value.byteLength - 2) };
    });
  }

  /** `set KEY FLAGS 0 N` with a data block; true when the server says STORED. */
  async set(key: string, value: string, flags = 0): Promise<boolean> {
    const data = enc.encode(value);
    return await this.#request(
      `set ${key} ${flags} 0 ${data.byteLength}\r\n${value}\r\n`,
      async () => (await this.#line()) === "STORED",
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #request<T>(command: string, readReply: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new MemcachedConnectionError("client is closed");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Closing the connection fails the pending read; the reply is abandoned.
        this.close();
        reject(new MemcachedTimeoutError(`no reply within ${this.#timeout} ms`));
      }, this.#timeout);
    });
    const work = (async () => {
      await this.#write(enc.encode(command));
      return await readReply();
    })();
    try {
      return await Promise.race([work, timedOut]);
    } finally {
      clearTimeout(timer);
      // After a timeout the read fails with "closed"; nobody waits for it any more.
      work.catch(() => {});
    }
  }

  async #write(data: Uint8Array): Promise<void> {
    try {
      for (let at = 0; at < data.byteLength;) at += await this.#conn.write(data.subarray(at));
    } catch (err) {
      throw new MemcachedConnectionError(`write failed: ${describe(err)}`, { cause: err });
    }
  }

  async #fill(): Promise<void> {
    const chunk = new Uint8Array(4096);
    let n: number | null;
    try {
      n = await this.#conn.read(chunk);
    } catch (err) {
      throw new MemcachedConnectionError(`read failed: ${describe(err)}`, { cause: err });
    }
    if (n === null) {
      throw new MemcachedConnectionError("connection closed in the middle of a reply");
    }
    const next = new Uint8Array(this.#buf.byteLength + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.byteLength);
    this.#buf = next;
  }

  async #line(): Promise<string> {
    for (;;) {
      const lf = this.#buf.indexOf(10);
      if (lf >= 0) {
        if (lf === 0 || this.#buf[lf - 1] !== 13) {
          throw new MemcachedProtocolError("a reply line must end in CRLF");
        }
        const line = dec.decode(this.#buf.subarray(0, lf - 1));
        this.#buf = this.#buf.subarray(lf + 1);
        return line;
      }
      await this.#fill();
    }
  }

  async #bytes(n: number): Promise<Uint8Array> {
    while (this.#buf.byteLength < n) await this.#fill();
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
}

function describe(err: unknown): string {
  if (err instanceof Deno.errors.ConnectionReset) return "connection reset by peer";
  if (err instanceof Deno.errors.BrokenPipe) return "broken pipe";
  return err instanceof Error ? err.message : String(err);
}
