/**
 * A framed, full-duplex rpcx connection over any byte stream (a TCP or TLS socket, a Unix
 * socket, a WebSocket adapter...): a read loop that decodes every complete frame of each chunk,
 * and a write queue that coalesces all messages produced in the same turn into one write.
 *
 * Memory: an idle connection holds one pending read into a small buffer (256 bytes by default);
 * buffers grow on demand (doubling while reads fill them, up to `readBufferSize`, or to what the
 * frame in progress still needs) and shrink again when reads get small. Decoded payloads are views
 * of these buffers (no copy), so a buffer is never written twice and is freed when no message
 * refers to it. The first bytes of a frame header wait as a short string until the header is
 * whole (the next read then reuses the buffer from its start when nothing else was in it), and the
 * frame decoder exists only while a frame is in progress: an idle connection, even one that sent
 * part of a header, holds no more than its buffer, one bound read callback and this object.
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import { type BatchAlloc, encodeMessages } from "../protocol/encode.ts";
import { writeBuffers } from "../protocol/_write_buffers.ts";
import { givePayload } from "../codec/_pooled.ts";
import { FrameDecoder } from "../protocol/framing.ts";
import { HEADER_LENGTH } from "../protocol/message.ts";
import { MAGIC_NUMBER } from "../protocol/constants.ts";
import { clock, CLOCK_BASE } from "./_clock.ts";
import type { ByteStream } from "./byte_stream.ts";
import type { FramedConnectionHandlers, FramedConnectionOptions } from "./framed_options.ts";

const EMPTY = new Uint8Array(0);
/** Lends the process's pooled write buffers to encoders. */
const takeWriteBuffer: BatchAlloc = (length) => writeBuffers.take(length);

/** Bits of `FramedConnection`'s state. */
const CLOSED = 1, WRITING = 2, SNIFFED = 4, PAUSED = 8;

/** What a queued message holds besides its bytes on the wire (the object, its views), about. */
const OBJECT_BYTES = 256;

/** About the memory `msg` holds queued: its encoded bytes and its object. */
function approxSize(msg: Message): number {
  let n = OBJECT_BYTES + HEADER_LENGTH + 16 + msg.servicePath.length + msg.serviceMethod.length +
    (msg.payload?.byteLength ?? 0);
  const md = msg.metadata;
  if (md) { for (const k in md) n += 8 + k.length + (md[k]?.length ?? 0); }
  return n;
}

/**
 * Wraps a connected byte stream. Call {@linkcode FramedConnection.start} to begin reading.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { createMessage, FramedConnection, type Message, splitHostPort } from "@rpcx/core/protocol";
 * const server = new Server();
 * const conn = await Deno.connect(splitHostPort(await server.serve("tcp", "127.0.0.1:0")));
 * const reply = Promise.withResolvers<Message>();
 * const fc = new FramedConnection(conn, { onMessage: (m) => reply.resolve(m) });
 * fc.start();
 * fc.send(createMessage({ heartbeat: true, seq: 1n })); // queued; written with this turn's others
 * console.log((await reply.promise).heartbeat); // true
 * fc.close();
 * await server.close();
 * ```
 */
export class FramedConnection {
  readonly #conn: ByteStream;
  readonly #handlers: FramedConnectionHandlers;
  readonly #options: FramedConnectionOptions;
  /** Only while a frame is in progress (a decoder between frames holds nothing). */
  #decoder: FrameDecoder | undefined;
  #queue: Message[] | undefined;
  /** CLOSED, WRITING and SNIFFED bits. */
  #state = 0;
  /** Made on demand: drain waiters, and the `closed` promise with its resolver. */
  #waits: Waits | undefined;
  /** In ms since CLOCK_BASE. */
  #lastMessageAt = 0;
  /** In ms since CLOCK_BASE; -1 when no write is pending. */
  #writeSince = -1;
  #buf: Uint8Array = EMPTY;
  /** Where the next read goes in `#buf`. */
  #off = 0;
  /**
   * The first bytes of a header in progress (one character per byte), not yet given to the
   * decoder: a few bytes cost a short string rather than a view of the buffer they came in.
   */
  #head = "";
  #size: number;
  /** `#onRead` bound to this connection: the one callback a pending read holds. */
  #readDone: ((n: unknown) => void) | undefined;
  /** Bytes (about) of the messages queued and not yet handed to a write. */
  #queued = 0;
  /** Bytes of the write in progress. */
  #inWrite = 0;

  /** Wraps `conn`; nothing is read until `start()`. */
  constructor(
    conn: ByteStream,
    handlers: FramedConnectionHandlers,
    options: FramedConnectionOptions = {},
  ) {
    this.#conn = conn;
    this.#handlers = handlers;
    this.#options = options;
    if (!options.sniff) this.#state = SNIFFED;
    this.#size = this.#minRead;
  }

  // Sizes are read from the options (often one object shared by every connection), not copied
  // into each connection.
  get #maxRead(): number {
    return Math.max(this.#options.readBufferSize ?? 64 * 1024, 64);
  }

  get #minRead(): number {
    return Math.min(Math.max(this.#options.initialReadBufferSize ?? 256, 64), this.#maxRead);
  }

  /** The decoder, made when a frame starts. */
  #frames(): FrameDecoder {
    const h = this.#handlers;
    return this.#decoder ??= new FrameDecoder(
      this.#options,
      h.onFrameError ? h as Required<FramedConnectionHandlers> : undefined,
    );
  }

  /** The underlying byte stream. */
  get conn(): ByteStream {
    return this.#conn;
  }

  /** Whether it is closed. */
  get isClosed(): boolean {
    return (this.#state & CLOSED) !== 0;
  }

  /** Resolves when the connection has closed. */
  get closed(): Promise<void> {
    if (this.#state & CLOSED) return Promise.resolve();
    const w = this.#waits ??= {};
    w.closed ??= new Promise((r) => (w.resolveClosed = r));
    return w.closed;
  }

  /** When the last complete message arrived (ms since epoch; the start time before any). */
  get lastMessageAt(): number {
    return this.#lastMessageAt + CLOCK_BASE;
  }

  /** Since when the current write to the stream has been pending (ms since epoch); 0 if none. */
  get writePendingSince(): number {
    return this.#writeSince < 0 ? 0 : this.#writeSince + CLOCK_BASE;
  }

  /** Bytes of messages queued or being written and not yet taken by the stream (about). */
  get writeBacklog(): number {
    return this.#queued + this.#inWrite;
  }

  /** Whether queued messages are not all written yet. */
  get writing(): boolean {
    return (this.#state & WRITING) !== 0;
  }

  /** Starts the read loop. */
  start(): void {
    this.#lastMessageAt = clock();
    this.#readDone = this.#onRead.bind(this);
    this.#readNext();
  }

  // The read loop is written with a callback rather than an async function: an idle connection
  // then holds one pending read and one bound callback instead of a suspended generator.

  #readNext(): void {
    if (this.#state & CLOSED) return;
    const held = this.#head.length;
    const wanted = held > 0 ? HEADER_LENGTH - held : (this.#decoder?.wantedBytes ?? 0);
    const want = Math.max(this.#size, Math.min(wanted, this.#maxRead));
    const room = this.#buf.byteLength - this.#off;
    // A fresh buffer when the room left is too small (for the rest of the frame in progress, or
    // between frames for a useful read), or far too big for what is read now (so an idle
    // connection does not keep a large buffer alive).
    if (
      room < (wanted > 0 ? Math.min(wanted, want) : Math.max(want >>> 2, 64)) ||
      (room > 4 * want && this.#buf.byteLength > this.#minRead)
    ) {
      this.#buf = new Uint8Array(want);
      this.#off = 0;
    }
    let reading: Promise<number | null>;
    try {
      reading = this.#conn.read(this.#off === 0 ? this.#buf : this.#buf.subarray(this.#off));
    } catch (e) {
      return this.#fail(e);
    }
    reading.then(this.#readDone, this.#readDone);
  }

  /**
   * A read settled: with a byte count or null (end of stream) when it resolved, with the reason
   * when it rejected (one callback for both).
   */
  #onRead(n: unknown): void {
    if (this.#state & CLOSED) return;
    if (n !== null && typeof n !== "number") return this.#fail(n);
    let msgs: Message[] | undefined;
    try {
      const buf = this.#buf;
      const off = this.#off;
      const head = this.#head;
      if (n === null) {
        // A header in progress is a frame cut short: the decoder says so.
        if (head.length > 0) this.#frames().push(bytesOf(head));
        this.#decoder?.end();
        return this.close();
      }
      if (!(this.#state & SNIFFED)) {
        this.#state |= SNIFFED;
        const head = buf.subarray(off, off + n);
        if (this.#options.sniff!(head, this.#conn, this.#handlers)) return this.#release();
      }
      if (n === buf.byteLength - off) this.#size = Math.min(this.#size * 2, this.#maxRead);
      else if (n <= this.#size >>> 2) this.#size = Math.max(this.#size >>> 1, this.#minRead);
      const end = off + n;
      // Between frames, the first bytes of a header wait until it is whole. Copied out, they
      // leave the buffer free from `off` on; from its start when nothing came before them in it
      // (no message refers to it), so the next read needs no view of it.
      if (
        head.length + n < HEADER_LENGTH &&
        (head.length > 0 ? head.charCodeAt(0) : buf[off]) === MAGIC_NUMBER &&
        (this.#decoder === undefined || this.#decoder.wantedBytes === 0)
      ) {
        this.#head = String.fromCharCode(...bytesOf(head), ...buf.subarray(off, end));
        if (off > 0) this.#off = end;
        return this.#readNext();
      }
      this.#off = end;
      // Messages may keep views of this region: it is never written again.
      const decoder = this.#frames();
      if (head.length > 0) {
        this.#head = "";
        decoder.push(bytesOf(head)); // part of a header: no message yet
      }
      msgs = decoder.push(buf.subarray(off, end));
      if (decoder.wantedBytes === 0) this.#decoder = undefined;
    } catch (e) {
      return this.#fail(e);
    }
    if (msgs.length > 0) this.#lastMessageAt = clock();
    this.#deliver(msgs, 0);
  }

  /** Hands `msgs[from..]` to the handler, pausing while it returns a promise; then reads on. */
  #deliver(msgs: Message[], from: number): void {
    for (let i = from; i < msgs.length; i++) {
      if (this.#state & CLOSED) return;
      let paused: Promise<void> | void;
      try {
        paused = this.#handlers.onMessage(msgs[i]);
      } catch (e) {
        return this.#fail(e);
      }
      if (paused !== undefined) {
        paused.catch(() => {}).then(() => this.#deliver(msgs, i + 1));
        return;
      }
    }
    // A peer that sends and does not read what we write: no more is read (so no more is
    // answered and queued) until the writes caught up (see `maxWriteBacklog`).
    const max = this.#options.maxWriteBacklog;
    if (max !== undefined && max > 0 && this.writeBacklog > max) {
      this.#state |= PAUSED;
      return;
    }
    this.#readNext();
  }

  /** Reads on once the backlog that paused reading fell to half its bound. */
  #resumeIfRoom(): void {
    if (!(this.#state & PAUSED) || this.#state & CLOSED) return;
    if (this.writeBacklog > (this.#options.maxWriteBacklog ?? 0) / 2) return;
    this.#state &= ~PAUSED;
    this.#readNext();
  }

  #fail(e: unknown): void {
    if (!(this.#state & CLOSED)) this.#handlers.onError?.(e);
    this.close();
  }

  /** Queues a message; all messages queued in the same turn go out in one write. */
  send(msg: Message): void {
    if (this.#state & CLOSED) return;
    (this.#queue ??= []).push(msg);
    this.#queued += approxSize(msg);
    if (!(this.#state & WRITING)) {
      this.#state |= WRITING;
      queueMicrotask(() => void this.#flush());
    }
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue && this.#queue.length > 0 && !(this.#state & CLOSED)) {
        const batch = this.#queue;
        this.#queue = undefined;
        this.#queued = 0;
        const bytes = (this.#options.encodeBatch ?? encodeMessages)(batch, takeWriteBuffer);
        this.#inWrite = bytes.byteLength;
        // Framed: a payload lent by the client's codec goes back (_pooled.ts).
        for (let i = 0; i < batch.length; i++) givePayload(batch[i].payload);
        let written = 0;
        while (written < bytes.byteLength) {
          this.#writeSince = clock();
          written += await this.#conn.write(written === 0 ? bytes : bytes.subarray(written));
        }
        // All taken by the socket (a failed write keeps its buffer: the socket may hold it).
        writeBuffers.give(bytes);
        this.#inWrite = 0;
        this.#resumeIfRoom();
      }
    } catch (e) {
      if (!(this.#state & CLOSED)) this.#handlers.onError?.(e);
      this.close();
    } finally {
      this.#writeSince = -1;
      this.#inWrite = 0;
      this.#state &= ~WRITING;
      this.#wakeDrainWaiters();
      this.#resumeIfRoom();
    }
  }

  /** Resolves when everything queued so far has been written (or the connection closed). */
  drained(): Promise<void> {
    if ((this.#state & (WRITING | CLOSED)) !== WRITING) return Promise.resolve();
    return new Promise((r) => ((this.#waits ??= {}).drain ??= []).push(r));
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#waits?.drain;
    if (!waiters) return;
    this.#waits!.drain = undefined;
    for (const w of waiters) w();
  }

  /** Closes the stream; pending writes are dropped. Idempotent. */
  close(): void {
    if (this.#state & CLOSED) return;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    this.#release();
  }

  /** Closed without closing the stream (it was handed over, or is closed). */
  #release(): void {
    if (this.#state & CLOSED) return;
    this.#state |= CLOSED;
    this.#queue = undefined;
    this.#queued = this.#inWrite = 0;
    this.#decoder = undefined;
    this.#buf = EMPTY;
    this.#wakeDrainWaiters();
    this.#waits?.resolveClosed?.();
    this.#handlers.onClose?.();
  }
}

/** The bytes of `s`, one per character (each below 256). */
function bytesOf(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** What a connection makes only when asked: drain waiters, the `closed` promise. */
interface Waits {
  drain?: (() => void)[];
  closed?: Promise<void>;
  resolveClosed?: () => void;
}
