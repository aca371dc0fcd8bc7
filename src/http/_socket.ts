/**
 * Connection plumbing for the HTTP side: a Node stream over a connection whose first bytes were
 * already read (what node:http's server reads and writes).
 *
 * @module
 */
import { Duplex } from "node:stream";
import { Buffer } from "node:buffer";
import type { Connection } from "../transport/network.ts";
import { splitHostPort } from "../transport/address.ts";

function hostPort(address: string): { hostname: string; port: number } {
  try {
    return splitHostPort(address);
  } catch {
    return { hostname: address, port: 0 };
  }
}

/** Activity a {@linkcode ConnStream} reports to its owner. */
export interface ConnStreamEvents {
  /** Bytes arrived. */
  onData(): void;
}

/**
 * A Node Duplex over a connection, shaped like a `net.Socket` as far as node:http's server uses
 * one (`setTimeout`, `setNoDelay`, addresses).
 */
export class ConnStream extends Duplex {
  readonly #conn: Connection;
  readonly #events: ConnStreamEvents;
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
  constructor(conn: Connection, head: Uint8Array, events: ConnStreamEvents) {
    super({ allowHalfOpen: true });
    this.#conn = conn;
    this.#events = events;
    const r = hostPort(conn.remoteAddress);
    const l = hostPort(conn.localAddress);
    this.remoteAddress = r.hostname;
    this.remotePort = r.port;
    this.localAddress = l.hostname;
    this.localPort = l.port;
    if (head.byteLength > 0) this.push(Buffer.from(head.buffer, head.byteOffset, head.byteLength));
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    void this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        const buf = new Uint8Array(16 * 1024);
        const n = await this.#conn.read(buf);
        if (this.destroyed) return;
        if (n === null) {
          this.push(null);
          return;
        }
        this.#touch();
        this.#events.onData();
        if (!this.push(Buffer.from(buf.buffer, 0, n))) {
          this.#reading = false;
          return;
        }
      }
    } catch (e) {
      this.#reading = false;
      if (!this.destroyed) this.destroy(e as Error);
    }
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.byteLength) off += await this.#conn.write(bytes.subarray(off));
    this.#touch();
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.#writeAll(chunk).then(() => callback(), (e) => callback(e as Error));
  }

  override _writev(
    chunks: { chunk: Uint8Array }[],
    callback: (error?: Error | null) => void,
  ): void {
    const total = chunks.reduce((n, c) => n + c.chunk.byteLength, 0);
    const all = new Uint8Array(total);
    let off = 0;
    for (const { chunk } of chunks) {
      all.set(chunk, off);
      off += chunk.byteLength;
    }
    this.#writeAll(all).then(() => callback(), (e) => callback(e as Error));
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
