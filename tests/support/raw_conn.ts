// A raw rpcx connection for server tests: send any bytes, read decoded messages.
import { FrameDecoder, type Message } from "@rpcx/core/protocol";
import { delay } from "./env.ts";

/** A raw rpcx connection: send frames, read decoded messages. */
export class RawConn {
  conn!: Deno.TcpConn;
  decoder = new FrameDecoder();
  inbox: Message[] = [];
  closed = false;
  chunks = 0;
  #wake: (() => void) | undefined;
  /** Connects to `host:port`; with `read: false` it never reads (a peer that stalls). */
  static async open(addr: string, options: { read?: boolean } = {}): Promise<RawConn> {
    const r = new RawConn();
    const [hostname, port] = addr.split(":");
    r.conn = await Deno.connect({ hostname, port: Number(port) });
    if (options.read !== false) void r.#loop();
    return r;
  }
  async #loop() {
    try {
      while (true) {
        const buf = new Uint8Array(65536);
        const n = await this.conn.read(buf);
        if (n === null) break;
        this.chunks++;
        this.inbox.push(...this.decoder.push(buf.subarray(0, n)));
        this.#wake?.();
      }
    } catch {
      // closed
    }
    this.closed = true;
    this.#wake?.();
  }
  /** Writes all of `bytes`. */
  async write(bytes: Uint8Array) {
    for (let o = 0; o < bytes.byteLength;) o += await this.conn.write(bytes.subarray(o));
  }
  async next(timeout = 2000): Promise<Message | undefined> {
    const end = Date.now() + timeout;
    while (this.inbox.length === 0 && !this.closed && Date.now() < end) {
      await Promise.race([new Promise<void>((r) => (this.#wake = r)), delay(50)]);
    }
    return this.inbox.shift();
  }
  async waitClosed(timeout = 2000) {
    const end = Date.now() + timeout;
    while (!this.closed && Date.now() < end) await delay(10);
    return this.closed;
  }
  close() {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/**
 * Asserts that `host:port` refuses connections: a connection that succeeds fails at once; a
 * reset (the listening socket is being released) is retried for up to `withinMs`.
 */
export async function expectRefused(addr: string, withinMs = 200): Promise<void> {
  const [hostname, port] = addr.split(":");
  const end = Date.now() + withinMs;
  while (true) {
    try {
      const c = await Deno.connect({ hostname, port: Number(port) });
      c.close();
      throw new Error(`${addr} accepted a connection`);
    } catch (e) {
      if (e instanceof Deno.errors.ConnectionRefused) return;
      if (!(e instanceof Deno.errors.ConnectionReset) || Date.now() > end) throw e;
    }
    await delay(10);
  }
}
