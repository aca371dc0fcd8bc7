/**
 * Internal to the pipes: one direction of a pipe. What the writing end sends (bytes, or whole
 * messages when it carries messages) waits in a queue until the reading end takes it: as bytes
 * (`read`, messages encoded then) or as messages (a {@linkcode ChannelSink}, bytes decoded then).
 * Nothing is buffered beyond the queue, and the writer learns when it is taken, so a reader that
 * stops reading holds its writer as a full socket does.
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import { encodeMessages } from "../protocol/encode.ts";
import { PeerGoneError, SocketError, type SocketErrorInfo } from "./errors.ts";
import { clock } from "./_clock.ts";

/** What a channel's errors name: the end that wrote. */
export interface ChannelEnd {
  info(op: "read" | "write"): SocketErrorInfo;
}

/** Bytes written, waiting to be read; the write resolves once all were taken. */
export class Chunk {
  /** How many of `bytes` were taken so far. */
  taken = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly resolve: ((n: number) => void) | undefined,
    readonly reject: ((e: unknown) => void) | undefined,
    readonly end: ChannelEnd | undefined,
  ) {}
}

/** The reading end when it takes messages (`PipeLink`): told when items wait. */
export interface ChannelSink {
  /** Items wait in the channel, or the writer went away. */
  pull(): void;
}

interface PendingRead {
  readonly into: Uint8Array;
  readonly resolve: (n: number | null) => void;
}

/** Go's `net.ErrClosed` text, for an operation on an end closed by its own side. */
export function closedError(end: ChannelEnd, op: "read" | "write"): SocketError {
  return new SocketError(end.info(op), "use of closed network connection");
}

/** One direction of a pipe. */
export class Channel {
  /** Written and not yet taken, oldest first. */
  items: (Chunk | Message)[] = [];
  /** The writing end closed: reads end. */
  writerGone = false;
  /** The reading end closed: writes fail. */
  readerGone = false;
  /** Encodes messages for a reader of bytes (the sending link's encoder). */
  encode: (msgs: readonly Message[]) => Uint8Array = encodeMessages;
  #read: PendingRead | undefined;
  #sink: ChannelSink | undefined;
  #pulling = false;
  #drain: (() => void)[] | undefined;
  /**
   * Times are stamped lazily (a clock reading costs as much as the rest of a small message's
   * way): `#moves` counts the changes (something queued into an empty channel, or some taken),
   * and `waitingSince` stamps the clock when it first sees a new count. The server's watchdog
   * reads it every few ms, so a write timeout never fires early and at most one check late.
   */
  #moves = 0;
  #stampedMoves = -1;
  #since = -1;

  /** Since when what was written has been waiting (clock ms; -1 when nothing waits). */
  get waitingSince(): number {
    if (this.items.length === 0) return -1;
    if (this.#stampedMoves !== this.#moves) {
      this.#stampedMoves = this.#moves;
      this.#since = clock();
    }
    return this.#since;
  }

  // The writing end.

  /** Writes bytes; resolves with their count once the reading end took them all. */
  write(bytes: Uint8Array, end: ChannelEnd): Promise<number> {
    if (this.writerGone) return Promise.reject(closedError(end, "write"));
    if (this.readerGone) return Promise.reject(new PeerGoneError(end.info("write"), "broken-pipe"));
    if (bytes.byteLength === 0) return Promise.resolve(0);
    const read = this.#read;
    if (read !== undefined && this.items.length === 0) {
      // A read is waiting: one copy, no queue.
      this.#read = undefined;
      const n = Math.min(read.into.byteLength, bytes.byteLength);
      read.into.set(n === bytes.byteLength ? bytes : bytes.subarray(0, n));
      read.resolve(n);
      if (n === bytes.byteLength) return Promise.resolve(n);
      return new Promise((resolve, reject) => {
        const c = new Chunk(bytes, resolve, reject, end);
        c.taken = n;
        this.#push(c);
      });
    }
    return new Promise((resolve, reject) => this.#push(new Chunk(bytes, resolve, reject, end)));
  }

  /** Sends a message (dropped when either end is closed). */
  post(msg: Message): void {
    if (!this.writerGone && !this.readerGone) this.#push(msg);
  }

  /** Resolves once everything written so far was taken (or either end closed). */
  drained(): Promise<void> {
    if (this.items.length === 0 || this.writerGone || this.readerGone) return Promise.resolve();
    return new Promise((r) => (this.#drain ??= []).push(r));
  }

  /** The writing end closed: what it wrote and was not taken is dropped; reads end. */
  writerClosed(): void {
    if (this.writerGone) return;
    this.writerGone = true;
    this.#clear((c) => closedError(c, "write"));
    this.#wake();
  }

  // The reading end.

  /** Reads bytes into `into`; null once the writer closed (or this end did). */
  read(into: Uint8Array): Promise<number | null> {
    if (this.readerGone || this.writerGone) return Promise.resolve(null);
    if (this.items.length > 0) return Promise.resolve(this.#take(into));
    if (into.byteLength === 0) return Promise.resolve(0);
    if (this.#read !== undefined) {
      return Promise.reject(new TypeError("pipe: a read is already pending"));
    }
    return new Promise((resolve) => (this.#read = { into, resolve }));
  }

  /** The reading end takes messages from now on: `sink.pull()` when items wait. */
  attach(sink: ChannelSink): void {
    this.#sink = sink;
    if (this.items.length > 0 || this.writerGone) this.#wake();
  }

  /** Everything waiting, taken at once (each chunk whole, its write resolved). */
  takeAll(): (Chunk | Message)[] {
    const items = this.items;
    if (items.length === 0) return items;
    this.items = [];
    for (const item of items) {
      if (item instanceof Chunk) item.resolve?.(item.bytes.byteLength);
    }
    this.#taken();
    return items;
  }

  /** The reading end closed: writes waiting fail (broken pipe), messages are dropped. */
  readerClosed(): void {
    if (this.readerGone) return;
    this.readerGone = true;
    this.#sink = undefined;
    this.#clear((c) => new PeerGoneError(c.info("write"), "broken-pipe"));
    const read = this.#read;
    this.#read = undefined;
    read?.resolve(null);
  }

  #push(item: Chunk | Message): void {
    this.items.push(item);
    if (this.items.length === 1) {
      this.#moves++;
      this.#wake();
    }
  }

  /** Tells the reading end that items wait (or the writer is gone). */
  #wake(): void {
    const read = this.#read;
    if (read !== undefined) {
      this.#read = undefined;
      read.resolve(this.writerGone ? null : this.#take(read.into));
    } else if (this.#sink !== undefined && !this.#pulling) {
      // In a microtask: what is sent in one turn is taken together, and never inside `send`.
      this.#pulling = true;
      queueMicrotask(() => {
        this.#pulling = false;
        this.#sink?.pull();
      });
    }
  }

  /** Copies waiting bytes into `into`, as much as fits (messages are encoded first). */
  #take(into: Uint8Array): number {
    const items = this.items;
    let n = 0;
    while (n < into.byteLength && items.length > 0) {
      if (!(items[0] instanceof Chunk)) {
        let k = 1;
        while (k < items.length && !(items[k] instanceof Chunk)) k++;
        const bytes = this.encode(items.slice(0, k) as Message[]);
        items.splice(0, k, new Chunk(bytes, undefined, undefined, undefined));
      }
      const c = items[0] as Chunk;
      const k = Math.min(into.byteLength - n, c.bytes.byteLength - c.taken);
      into.set(c.bytes.subarray(c.taken, c.taken + k), n);
      n += k;
      c.taken += k;
      if (c.taken === c.bytes.byteLength) {
        items.shift();
        c.resolve?.(c.bytes.byteLength);
      }
    }
    this.#taken();
    return n;
  }

  /** Some was taken: the wait restarts, or is over. */
  #taken(): void {
    if (this.items.length > 0) {
      this.#moves++;
      return;
    }
    const drain = this.#drain;
    this.#drain = undefined;
    if (drain) { for (const r of drain) r(); }
  }

  #clear(error: (end: ChannelEnd) => unknown): void {
    for (const item of this.items.splice(0)) {
      if (item instanceof Chunk && item.end) item.reject?.(error(item.end));
    }
    this.#taken();
  }
}
