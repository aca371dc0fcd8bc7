/**
 * A framed, full-duplex rpcx connection over any byte stream (a TCP or TLS socket, a Unix
 * socket, a WebSocket adapter...): a read loop that decodes every complete frame of each chunk,
 * and a write queue that coalesces all messages produced in the same turn into one write.
 *
 * Memory: an idle connection holds one small read buffer (1 KiB by default); buffers grow on
 * demand (doubling while reads fill them, up to `readBufferSize`, or to what the frame in progress
 * still needs) and shrink again when reads get small. Decoded payloads are views of these
 * buffers (no copy), so a buffer is never written twice and is freed when no message refers to it.
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import { encodeMessages } from "../protocol/message.ts";
import { FrameDecoder, type FrameDecoderOptions } from "../protocol/framing.ts";
import type { ProtocolError } from "../protocol/errors.ts";
import type { FrameHeader } from "../protocol/message.ts";

/**
 * The byte stream a {@linkcode FramedConnection} runs over: what `Deno.Conn` offers, and what
 * any other transport (a WebSocket, a test pipe) can offer.
 *
 * @example
 * ```ts
 * import type { ByteStream } from "@rpcx/core";
 * // Deno.Conn is a ByteStream:
 * const accept = (conn: Deno.Conn): ByteStream => conn;
 * console.log(typeof accept);
 * ```
 */
export interface ByteStream {
  /** Reads into `p`; resolves with the byte count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes from `p`; resolves with how many bytes were written (at least 1). */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream; pending reads and writes reject or end. */
  close(): void;
}

/**
 * Callbacks of a {@linkcode FramedConnection}.
 *
 * @example
 * ```ts
 * import type { FramedConnectionHandlers } from "@rpcx/core";
 * const h: FramedConnectionHandlers = { onMessage: (m) => console.log(m.seq) };
 * console.log(typeof h.onMessage);
 * ```
 */
export interface FramedConnectionHandlers {
  /**
   * A message arrived. A returned promise pauses reading until it settles (backpressure from a
   * slow consumer: the peer's writes then wait on the socket).
   */
  onMessage(msg: Message): void | Promise<void>;
  /** The connection failed (bad frame, socket error); it is closed right after. */
  onError?(error: unknown): void;
  /** The connection closed (either side). Called once. */
  onClose?(): void;
  /**
   * A frame was refused without failing the stream (see `FrameDecoderOptions.onFrameError`);
   * without this handler (and without `options.onFrameError`) such a frame closes the connection.
   */
  onFrameError?(error: ProtocolError, header: FrameHeader): void;
}

/**
 * Options of a {@linkcode FramedConnection}.
 *
 * @example
 * ```ts
 * import type { FramedConnectionOptions } from "@rpcx/core";
 * const o: FramedConnectionOptions = { maxMessageLength: 1 << 20, readBufferSize: 32 * 1024 };
 * console.log(o.readBufferSize);
 * ```
 */
export interface FramedConnectionOptions extends FrameDecoderOptions {
  /** Encodes a batch of messages into one buffer; defaults to the pure-TS encoder. */
  encodeBatch?: (msgs: readonly Message[]) => Uint8Array;
  /** Largest read buffer in bytes (default 64 KiB). */
  readBufferSize?: number;
  /** First (and smallest) read buffer in bytes (default 1 KiB). */
  initialReadBufferSize?: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Wraps a connected byte stream. Call {@linkcode FramedConnection.start} to begin reading.
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
  readonly #conn: ByteStream;
  readonly #handlers: FramedConnectionHandlers;
  readonly #decoder: FrameDecoder;
  readonly #encodeBatch: (msgs: readonly Message[]) => Uint8Array;
  readonly #maxRead: number;
  readonly #minRead: number;
  #queue: Message[] | undefined;
  #writing = false;
  #closed = false;
  #drainWaiters: (() => void)[] | undefined;
  #closedPromise: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;
  #lastMessageAt = Date.now();
  #writeSince = 0;

  /** Wraps `conn`; nothing is read until `start()`. */
  constructor(
    conn: ByteStream,
    handlers: FramedConnectionHandlers,
    options: FramedConnectionOptions = {},
  ) {
    this.#conn = conn;
    this.#handlers = handlers;
    this.#decoder = new FrameDecoder(
      options,
      handlers.onFrameError ? handlers as Required<FramedConnectionHandlers> : undefined,
    );
    this.#encodeBatch = options.encodeBatch ?? encodeMessages;
    this.#maxRead = Math.max(options.readBufferSize ?? 64 * 1024, 64);
    this.#minRead = Math.min(Math.max(options.initialReadBufferSize ?? 256, 64), this.#maxRead);
  }

  /** The underlying byte stream. */
  get conn(): ByteStream {
    return this.#conn;
  }

  /** Whether it is closed. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Resolves when the connection has closed. */
  get closed(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closedPromise ??= new Promise((r) => (this.#resolveClosed = r));
    return this.#closedPromise;
  }

  /** When the last complete message arrived (ms since epoch; the start time before any). */
  get lastMessageAt(): number {
    return this.#lastMessageAt;
  }

  /** Since when the current write to the stream has been pending (ms since epoch); 0 if none. */
  get writePendingSince(): number {
    return this.#writeSince;
  }

  /** Whether queued messages are not all written yet. */
  get writing(): boolean {
    return this.#writing;
  }

  /** Starts the read loop. */
  start(): void {
    this.#lastMessageAt = Date.now();
    void this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    let buf = EMPTY;
    let off = 0;
    let size = this.#minRead;
    try {
      while (!this.#closed) {
        const want = Math.max(size, Math.min(this.#decoder.wantedBytes, this.#maxRead));
        const room = buf.byteLength - off;
        // A fresh buffer when the room left is too small, or far too big for what is read
        // now (so an idle connection does not keep a large buffer alive).
        if (room < want || (room > 4 * want && buf.byteLength > this.#minRead)) {
          buf = new Uint8Array(want);
          off = 0;
        }
        const n = await this.#conn.read(off === 0 ? buf : buf.subarray(off));
        if (n === null) {
          this.#decoder.end();
          break;
        }
        if (n === buf.byteLength - off) size = Math.min(size * 2, this.#maxRead);
        else if (n <= size >>> 2) size = Math.max(size >>> 1, this.#minRead);
        // Messages may keep views of this region: it is never written again.
        const msgs = this.#decoder.push(buf.subarray(off, off + n));
        off += n;
        if (msgs.length > 0) this.#lastMessageAt = Date.now();
        for (let i = 0; i < msgs.length; i++) {
          if (this.#closed) break;
          const paused = this.#handlers.onMessage(msgs[i]);
          if (paused !== undefined) await paused.catch(() => {});
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
    (this.#queue ??= []).push(msg);
    if (!this.#writing) {
      this.#writing = true;
      queueMicrotask(() => void this.#flush());
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue && this.#queue.length > 0 && !this.#closed) {
        const batch = this.#queue;
        this.#queue = undefined;
        const bytes = this.#encodeBatch(batch);
        let written = 0;
        while (written < bytes.byteLength) {
          this.#writeSince = Date.now();
          written += await this.#conn.write(bytes.subarray(written));
        }
      }
    } catch (e) {
      if (!this.#closed) this.#handlers.onError?.(e);
      this.close();
    } finally {
      this.#writeSince = 0;
      this.#writing = false;
      this.#wakeDrainWaiters();
    }
  }

  /** Resolves when everything queued so far has been written (or the connection closed). */
  drained(): Promise<void> {
    if (!this.#writing || this.#closed) return Promise.resolve();
    return new Promise((r) => (this.#drainWaiters ??= []).push(r));
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters;
    if (!waiters) return;
    this.#drainWaiters = undefined;
    for (const w of waiters) w();
  }

  /** Closes the stream; pending writes are dropped. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = undefined;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#wakeDrainWaiters();
    this.#resolveClosed?.();
    this.#handlers.onClose?.();
  }
}
