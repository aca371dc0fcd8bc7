/**
 * Internal helpers of the transport layer: a connection with bytes already read pushed back in
 * front, reading an HTTP header block, and an async queue of accepted connections.
 *
 * @module
 */
import { ProtocolError } from "../protocol/errors.ts";
import type { Connection, Listener } from "./network.ts";

/** A connection whose first reads return `head` (bytes read past an HTTP header). */
export class PrefixedConnection implements Connection {
  readonly #inner: Connection;
  #head: Uint8Array;
  readonly network: string;

  constructor(inner: Connection, head: Uint8Array, network: string) {
    this.#inner = inner;
    this.#head = head;
    this.network = network;
  }
  get localAddress(): string {
    return this.#inner.localAddress;
  }
  get remoteAddress(): string {
    return this.#inner.remoteAddress;
  }
  read(p: Uint8Array): Promise<number | null> {
    if (this.#head.byteLength === 0) return this.#inner.read(p);
    const n = Math.min(p.byteLength, this.#head.byteLength);
    p.set(this.#head.subarray(0, n));
    this.#head = this.#head.subarray(n);
    return Promise.resolve(n);
  }
  write(p: Uint8Array): Promise<number> {
    return this.#inner.write(p);
  }
  close(): void {
    this.#inner.close();
  }
}

/** Writes all of `bytes`. */
export async function writeAll(c: Connection, bytes: Uint8Array): Promise<void> {
  for (let o = 0; o < bytes.byteLength;) o += await c.write(bytes.subarray(o));
}

const MAX_HEADER = 8192;

/**
 * Reads an HTTP header block (up to the blank line, `\r\n\r\n` or Go's bare `\n\n`); returns its
 * lines and the bytes read past it. Throws {@linkcode ProtocolError} when the stream ends first or
 * the block passes 8 KiB.
 */
export async function readHeader(c: Connection): Promise<{ lines: string[]; rest: Uint8Array }> {
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(1024);
  while (true) {
    const n = await c.read(chunk);
    if (n === null) throw new ProtocolError("connection closed before the end of the HTTP header");
    const next = new Uint8Array(buf.byteLength + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.byteLength);
    buf = next;
    for (let i = 0; i + 1 < buf.byteLength; i++) {
      if (buf[i] !== 0x0a) continue;
      let end = -1;
      if (buf[i + 1] === 0x0a) end = i + 2;
      else if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) end = i + 3;
      if (end < 0) continue;
      const text = new TextDecoder().decode(buf.subarray(0, i));
      return { lines: text.split(/\r?\n/), rest: buf.slice(end) };
    }
    if (buf.byteLength > MAX_HEADER) throw new ProtocolError("HTTP header longer than 8 KiB");
  }
}

/**
 * A listener fed by a background task: connections are pushed as they finish their handshake,
 * so a slow peer never holds up the others.
 */
export class QueueListener implements Listener {
  readonly network: string;
  readonly address: string;
  /** The listening socket's file descriptor, where known (set by the adapter). */
  fd?: number;
  readonly #close: () => void | Promise<void>;
  #queue: Connection[] = [];
  #waiter: ((c: Connection | null) => void) | undefined;
  #released: Promise<void> | undefined;

  /** `close` stops what feeds it; it may return a promise that resolves once the address is free. */
  constructor(network: string, address: string, close: () => void | Promise<void>) {
    this.network = network;
    this.address = address;
    this.#close = close;
  }

  /** Hands a connection to the consumer (closed at once if the listener is closed). */
  push(c: Connection): void {
    if (this.#released) return c.close();
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w(c);
    } else {
      this.#queue.push(c);
    }
  }

  /** Stops accepting; resolves once the address is free (idempotent). */
  close(): Promise<void> {
    if (this.#released) return this.#released;
    let released: void | Promise<void> = undefined;
    try {
      released = this.#close();
    } catch {
      // closed
    }
    this.#released = Promise.resolve(released).catch(() => {});
    for (const c of this.#queue) c.close();
    this.#queue = [];
    this.#waiter?.(null);
    this.#waiter = undefined;
    return this.#released;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
    while (!this.#released) {
      const c = this.#queue.shift() ??
        await new Promise<Connection | null>((r) => (this.#waiter = r));
      if (c === null) return;
      yield c;
    }
  }
}
