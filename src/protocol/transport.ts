/**
 * A framed, full-duplex rpcx connection over a Deno stream socket: a read loop that decodes
 * every complete frame of each chunk, and a write queue that coalesces all messages produced in
 * the same turn into one socket write.
 *
 * @module
 */
import type { DecodeLimits, Message } from "./message.ts";
import { encodeMessages } from "./message.ts";
import { FrameDecoder } from "./framing.ts";

/** Callbacks of a {@linkcode FramedConnection}. */
export interface FramedConnectionHandlers {
  /** A message arrived. */
  onMessage(msg: Message): void;
  /** The connection failed (bad frame, socket error); it is closed right after. */
  onError?(error: unknown): void;
  /** The connection closed (either side). Called once. */
  onClose?(): void;
}

/** Options of a {@linkcode FramedConnection}. */
export interface FramedConnectionOptions extends Partial<DecodeLimits> {
  /** Encodes a batch of messages into one buffer; defaults to the pure-TS encoder. */
  encodeBatch?: (msgs: readonly Message[]) => Uint8Array;
  /** Size of each read buffer (default 64 KiB). */
  readBufferSize?: number;
}

const MIN_READ_ROOM = 16 * 1024;

/**
 * Wraps a connected socket. Call {@linkcode FramedConnection.start} to begin reading.
 *
 * @example
 * ```ts
 * import { createMessage, FramedConnection } from "@rpcx/core/protocol";
 * // const conn = await Deno.connect({ hostname: "127.0.0.1", port: 8972 });
 * // const fc = new FramedConnection(conn, { onMessage: (m) => console.log(m.seq) });
 * // fc.start();
 * // fc.send(createMessage({ heartbeat: true, seq: 1n }));
 * console.log(typeof FramedConnection);
 * ```
 */
export class FramedConnection {
  readonly #conn: Deno.Conn;
  readonly #handlers: FramedConnectionHandlers;
  readonly #decoder: FrameDecoder;
  readonly #encodeBatch: (msgs: readonly Message[]) => Uint8Array;
  readonly #readBufferSize: number;
  #queue: Message[] = [];
  #writing = false;
  #closed = false;
  #drainWaiters: (() => void)[] = [];
  readonly #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  /** Wraps `conn`; nothing is read until `start()`. */
  constructor(
    conn: Deno.Conn,
    handlers: FramedConnectionHandlers,
    options: FramedConnectionOptions = {},
  ) {
    this.#conn = conn;
    this.#handlers = handlers;
    this.#decoder = new FrameDecoder(options);
    this.#encodeBatch = options.encodeBatch ?? encodeMessages;
    this.#readBufferSize = options.readBufferSize ?? 64 * 1024;
    this.#closedPromise = new Promise((r) => (this.#resolveClosed = r));
  }

  /** The underlying socket. */
  get conn(): Deno.Conn {
    return this.#conn;
  }

  /** Whether it is closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Resolves when the connection has closed. */
  get closed(): Promise<void> {
    return this.#closedPromise;
  }

  /** Starts the read loop. */
  start(): void {
    void this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(this.#readBufferSize);
    let off = 0;
    try {
      while (!this.#closed) {
        if (buf.byteLength - off < MIN_READ_ROOM) {
          buf = new Uint8Array(this.#readBufferSize);
          off = 0;
        }
        const n = await this.#conn.read(buf.subarray(off));
        if (n === null) {
          this.#decoder.end();
          break;
        }
        // Messages may keep views of this region: it is never written again.
        const msgs = this.#decoder.push(buf.subarray(off, off + n));
        off += n;
        for (let i = 0; i < msgs.length; i++) {
          if (this.#closed) break;
          this.#handlers.onMessage(msgs[i]);
        }
      }
    } catch (e) {
      if (!this.#closed) this.#handlers.onError?.(e);
    }
    this.close();
  }

  /** Queues a message; all messages queued in the same turn go out in one write. */
  send(msg: Message): void {
    if (this.#closed) return;
    this.#queue.push(msg);
    if (!this.#writing) {
      this.#writing = true;
      queueMicrotask(() => void this.#flush());
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const batch = this.#queue;
        this.#queue = [];
        const bytes = this.#encodeBatch(batch);
        let written = 0;
        while (written < bytes.byteLength) {
          written += await this.#conn.write(bytes.subarray(written));
        }
      }
    } catch (e) {
      if (!this.#closed) this.#handlers.onError?.(e);
      this.close();
    } finally {
      this.#writing = false;
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Resolves when everything queued so far has been written (or the connection closed). */
  drained(): Promise<void> {
    if (!this.#writing || this.#closed) return Promise.resolve();
    return new Promise((r) => this.#drainWaiters.push(r));
  }

  /** Closes the socket; pending writes are dropped. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
    this.#resolveClosed();
    this.#handlers.onClose?.();
  }
}

/**
 * Splits `host:port` (IPv6 as `[::1]:port`). Throws TypeError on a missing or bad port.
 *
 * @example
 * ```ts
 * import { splitHostPort } from "@rpcx/core/protocol";
 * console.log(splitHostPort("[::1]:8972")); // { hostname: "::1", port: 8972 }
 * ```
 */
export function splitHostPort(address: string): { hostname: string; port: number } {
  const i = address.lastIndexOf(":");
  if (i < 0) throw new TypeError(`address ${JSON.stringify(address)} has no port`);
  let hostname = address.slice(0, i);
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`address ${JSON.stringify(address)} has a bad port`);
  }
  if (hostname.startsWith("[") && hostname.endsWith("]")) hostname = hostname.slice(1, -1);
  return { hostname: hostname || "0.0.0.0", port };
}

/**
 * Joins host and port, bracketing IPv6 hosts.
 *
 * @example
 * ```ts
 * import { joinHostPort } from "@rpcx/core/protocol";
 * console.log(joinHostPort("::1", 80)); // "[::1]:80"
 * ```
 */
export function joinHostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
