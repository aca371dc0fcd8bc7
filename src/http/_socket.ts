/**
 * Connection plumbing for the HTTP side: a Node stream over a connection whose first bytes were
 * already read (what node:http's server reads and writes), for a connection that cannot hand its
 * own socket over (see `transport/_hand_over.ts`).
 *
 * @module
 */
import { Duplex } from "node:stream";
import { Buffer } from "node:buffer";
import type { Connection } from "../transport/network.ts";
import { splitHostPort } from "../transport/address.ts";
import { writeBuffers } from "../protocol/_write_buffers.ts";

/** The size of a read buffer; a new one is made when less than MIN_READ bytes are left. */
const READ_BUFFER = 16 * 1024;
const MIN_READ = 2 * 1024;
const EMPTY = new Uint8Array(0);

function hostPort(address: string): { hostname: string; port: number } {
  try {
    return splitHostPort(address);
  } catch {
    return { hostname: address, port: 0 };
  }
}

/**
 * A Node Duplex over a connection, shaped like a `net.Socket` as far as node:http's server uses
 * one (`setTimeout`, `setNoDelay`, addresses).
 */
export class ConnStream extends Duplex {
  readonly #conn: Connection;
  #bytesRead: number;
  #buf: Uint8Array<ArrayBuffer> = EMPTY;
  /** Where the next read goes in `#buf`. */
  #off = 0;
  #reading = false;
  #idleMs = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** The peer's IP address. */
  readonly remoteAddress: string;
  /** The peer's port. */
  readonly remotePort: number;
  /** Our IP address. */
  readonly localAddress: string;
  /** Our port. */
  readonly localPort: number;

  /** Wraps `conn`, whose first bytes `head` were already read. */
  constructor(conn: Connection, head: Uint8Array) {
    super({ allowHalfOpen: true });
    this.#conn = conn;
    this.#bytesRead = head.byteLength;
    const r = hostPort(conn.remoteAddress);
    const l = hostPort(conn.localAddress);
    this.remoteAddress = r.hostname;
    this.remotePort = r.port;
    this.localAddress = l.hostname;
    this.localPort = l.port;
    if (head.byteLength > 0) this.push(Buffer.from(head.buffer, head.byteOffset, head.byteLength));
  }

  /** Bytes received, `head` included (as `net.Socket.bytesRead`). */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    this.#readNext();
  }

  // Reads go into one buffer, region after region (a region handed on is never written again:
  // the parser may still hold a view of it), and a new buffer only once it is nearly full:
  // memory follows the bytes read, not the number of reads. Callbacks rather than an async
  // loop: one promise per read.
  #readNext(): void {
    if (this.#buf.byteLength - this.#off < MIN_READ) {
      this.#buf = new Uint8Array(READ_BUFFER);
      this.#off = 0;
    }
    let reading: Promise<number | null>;
    try {
      reading = this.#conn.read(this.#buf.subarray(this.#off));
    } catch (e) {
      return this.#readFailed(e);
    }
    reading.then(this.#onRead, this.#onReadError);
  }

  readonly #onRead = (n: number | null): void => {
    if (this.destroyed) return;
    if (n === null) {
      this.#reading = false;
      this.push(null);
      return;
    }
    this.#touch();
    this.#bytesRead += n;
    const chunk = Buffer.from(this.#buf.buffer, this.#off, n);
    this.#off += n;
    if (this.push(chunk)) this.#readNext();
    else this.#reading = false;
  };

  readonly #onReadError = (e: unknown): void => this.#readFailed(e);

  #readFailed(e: unknown): void {
    this.#reading = false;
    if (!this.destroyed) this.destroy(e as Error);
  }

  /** Writes all of `bytes`, then calls `callback`; a pooled buffer goes back once written. */
  #writeAll(
    bytes: Uint8Array,
    callback: (error?: Error | null) => void,
    pooled: boolean,
  ): void {
    let off = 0;
    const fail = (e: unknown) => callback(e as Error);
    const step = (n: number) => {
      off += n;
      if (off < bytes.byteLength) {
        this.#conn.write(bytes.subarray(off)).then(step, fail);
        return;
      }
      if (pooled) writeBuffers.give(bytes);
      this.#touch();
      callback();
    };
    this.#conn.write(bytes).then(step, fail);
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.#writeAll(chunk, callback, false);
  }

  override _writev(
    chunks: { chunk: Uint8Array }[],
    callback: (error?: Error | null) => void,
  ): void {
    // node:http writes a head and a body together: one write of both (into a pooled buffer).
    let total = 0;
    for (const c of chunks) total += c.chunk.byteLength;
    const all = writeBuffers.take(total);
    let off = 0;
    for (const { chunk } of chunks) {
      all.set(chunk, off);
      off += chunk.byteLength;
    }
    this.#writeAll(all, callback, true);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Everything is written and node:http is done with the connection: close it (a Connection
    // has no half-close), so the peer sees the end of the answer.
    callback();
    this.destroy();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#idleTimer);
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    callback(error);
  }

  #touch(): void {
    if (this.#idleMs > 0) this.#idleTimer?.refresh();
  }

  /** Emits `timeout` after `ms` without reads or writes (0 turns it off), as net.Socket. */
  setTimeout(ms: number, callback?: () => void): this {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#idleMs = ms;
    if (callback) this.once("timeout", callback);
    if (ms > 0) this.#idleTimer = setTimeout(() => this.emit("timeout"), ms);
    return this;
  }

  /** No-op (set on the TCP connection before sniffing). */
  setNoDelay(): this {
    return this;
  }

  /** No-op. */
  setKeepAlive(): this {
    return this;
  }

  /** No-op. */
  ref(): this {
    return this;
  }

  /** No-op. */
  unref(): this {
    return this;
  }
}
