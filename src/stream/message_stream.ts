/**
 * Typed message streams over the stream service (beyond Go): `AsyncIterable` in and out, each
 * message framed with a length prefix and the call's codec (see `_frames.ts` and the README),
 * backpressure end to end, cancellation by `AbortSignal`, typed errors. The caller opens one with
 * `openMessageStream` (`open_message_stream.ts`), the server answers with
 * `messageStreamHandler` (`message_stream_handler.ts`).
 *
 * @module
 */
import { within } from "../_internal/async.ts";
import type { Codec } from "../codec/codec.ts";
import type { Conn, DataConn } from "./_conn.ts";
import { END_FRAME, errorFrame, FrameReader, MAX_FRAME, messageFrame } from "./_frames.ts";
import {
  MessageFrameError,
  MessageTooLargeError,
  StreamAbortedError,
  StreamError,
} from "./errors.ts";

/**
 * Options of a message stream.
 *
 * @example
 * ```ts
 * import type { MessageStreamOptions } from "@rpcx/core/stream";
 * const o: MessageStreamOptions = { maxMessageSize: 1 << 20, writeBuffer: 256 * 1024 };
 * console.log(o.maxMessageSize);
 * ```
 */
export interface MessageStreamOptions {
  /** The codec (default: the one of the `Stream` call's serialize type, MsgPack by default). */
  codec?: Codec;
  /** Largest message payload, bytes, either way (default 16 MiB; at most 2^31 - 1). */
  maxMessageSize?: number;
  /**
   * Encoded messages queued for the socket beyond which `send` waits, bytes (default 64 KiB):
   * what one slow reader can make us hold.
   */
  writeBuffer?: number;
  /** Aborts the stream: every pending and later operation fails with StreamAbortedError. */
  signal?: AbortSignal;
}

/**
 * One side of a typed message stream: `send` (or `writable`) for what goes out, `for await` (or
 * `readable`) for what comes in. Backpressure: `send` resolves once its message is queued
 * within `writeBuffer` bytes for the socket (else once the socket took it), and messages are
 * read from the socket only as you iterate, so a slow consumer slows the producer on the other
 * side. `end()` ends our direction (an end frame); the iteration ends at the peer's end frame,
 * and the connection closes once both ended. A connection that closes without the peer's end frame fails the
 * iteration with {@linkcode DataConnectionError} (a peer that crashed never looks like one that
 * finished).
 *
 * Errors: a failure is sticky and ends both directions. {@linkcode RemoteStreamError} (the peer
 * sent an error frame: its handler threw or it aborted), {@linkcode StreamAbortedError} (the
 * signal or `abort()`), {@linkcode MessageTooLargeError}, {@linkcode MessageFrameError}, and the
 * data connection's {@linkcode DataConnectionError}/{@linkcode DataTimeoutError}.
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
 * import { openMessageStream } from "@rpcx/core/stream";
 * const xclient = new XClient("_streamservice", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery("tcp@127.0.0.1:8972"));
 * try {
 *   const chat = await openMessageStream<{ text: string }, { text: string }>(xclient);
 *   chat.sendAll([{ text: "hi" }, { text: "bye" }]).catch(() => {});
 *   for await (const m of chat) console.log(m.text);
 * } catch (e) {
 *   console.log("failed:", (e as Error).message);
 * }
 * await xclient.close();
 * ```
 */
export class MessageStream<Send, Receive> implements AsyncIterable<Receive> {
  readonly #conn: Conn;
  readonly #codec: Codec;
  readonly #limit: number;
  readonly #bufferLimit: number;
  readonly #reader: FrameReader;
  #reading: Promise<unknown> = Promise.resolve();
  #queue: Uint8Array[] = [];
  #queued = 0;
  #flushing: Promise<void> | undefined;
  #spaceWaiters: (() => void)[] = [];
  #failure: unknown;
  #ended = false;
  #done = false;
  #readable: ReadableStream<Receive> | undefined;
  #writable: WritableStream<Send> | undefined;

  /** Frames messages over `conn` with `codec` (internal: use openMessageStream). */
  constructor(conn: DataConn, codec: Codec, options: MessageStreamOptions = {}) {
    this.#conn = conn as Conn;
    this.#codec = codec;
    this.#limit = Math.min(options.maxMessageSize ?? 16 * 2 ** 20, MAX_FRAME);
    this.#bufferLimit = options.writeBuffer ?? 64 * 1024;
    this.#reader = new FrameReader(this.#conn, this.#limit);
    const signal = options.signal;
    if (signal) {
      const onAbort = () => this.abort(new StreamAbortedError(signal.reason));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener("abort", onAbort, { once: true });
        conn.signal.addEventListener("abort", () => signal.removeEventListener("abort", onAbort));
      }
    }
    conn.signal.addEventListener("abort", () => {
      // A clean close (both directions ended, or close()) fails only what is still pending.
      if (!this.#conn.closedCleanly) this.#fail(conn.signal.reason);
      else if (this.#queue.length || this.#flushing) this.#fail(conn.signal.reason);
    }, { once: true });
  }

  /** Aborted when the stream fails or closes; `reason` is the typed error. */
  get signal(): AbortSignal {
    return this.#conn.signal;
  }

  #fail(e: unknown): unknown {
    if (this.#failure === undefined) {
      this.#failure = e;
      this.#conn.abort(e);
      for (const w of this.#spaceWaiters.splice(0)) w();
    }
    return this.#failure;
  }

  #kick(): void {
    this.#flushing ??= this.#flush().finally(() => {
      this.#flushing = undefined;
      if (this.#queue.length && this.#failure === undefined) this.#kick();
    });
  }

  async #flush(): Promise<void> {
    while (this.#queue.length && this.#failure === undefined) {
      const frames = this.#queue;
      this.#queue = [];
      let bytes = frames[0];
      if (frames.length > 1) {
        let size = 0;
        for (const f of frames) size += f.byteLength;
        bytes = new Uint8Array(size);
        let o = 0;
        for (const f of frames) {
          bytes.set(f, o);
          o += f.byteLength;
        }
      }
      try {
        await this.#conn.write(bytes);
      } catch (e) {
        this.#fail(e);
      }
      this.#queued -= bytes.byteLength;
      for (const w of this.#spaceWaiters.splice(0)) w();
    }
  }

  /**
   * Sends `message`. Resolves once it is queued within `writeBuffer` bytes (else once the socket
   * took enough). Rejects with the stream's failure, {@linkcode MessageTooLargeError} (nothing
   * sent, the stream goes on) or a codec error.
   */
  async send(message: Send): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#conn.closed) throw this.#conn.signal.reason;
    if (this.#ended) throw new StreamError("rpcx: send after end()");
    const frame = messageFrame(this.#codec, message, this.#limit);
    this.#queue.push(frame);
    this.#queued += frame.byteLength;
    this.#kick();
    while (this.#queued > this.#bufferLimit && this.#failure === undefined) {
      await new Promise<void>((r) => this.#spaceWaiters.push(r));
    }
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Waits until everything sent is written to the socket; rejects with the stream's failure. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#failure !== undefined) throw this.#failure;
  }

  /**
   * Ends our direction once everything sent is written: the end frame (the peer's iteration then
   * ends). The connection closes once the peer's end frame came too.
   */
  async end(): Promise<void> {
    if (this.#ended) return await this.flush();
    if (this.#failure !== undefined) throw this.#failure;
    this.#ended = true;
    this.#queue.push(END_FRAME);
    this.#queued += END_FRAME.byteLength;
    this.#kick();
    await this.flush();
    this.#closeWhenDone();
  }

  /** Both directions ended cleanly: the connection goes. */
  #closeWhenDone(): void {
    if (this.#done && this.#ended && !this.#flushing && this.#failure === undefined) {
      this.#conn.close();
    }
  }

  /** Sends every message of `messages` in order (each awaited: backpressure), then `end()`. */
  async sendAll(messages: AsyncIterable<Send> | Iterable<Send>): Promise<void> {
    for await (const m of messages) await this.send(m);
    await this.end();
  }

  /** The next message, or done once the peer ended its direction. */
  next(): Promise<IteratorResult<Receive>> {
    const p = this.#reading.then(() => this.#next());
    this.#reading = p.catch(() => {});
    return p;
  }

  async #next(): Promise<IteratorResult<Receive>> {
    if (this.#done) return { done: true, value: undefined };
    if (this.#failure !== undefined) throw this.#failure;
    let payload: Uint8Array | null;
    try {
      payload = await this.#reader.next();
    } catch (e) {
      // What we refuse, we tell the peer; what the peer or the socket did, we only record.
      if (e instanceof MessageTooLargeError || e instanceof MessageFrameError) {
        await this.abort(e);
        throw e;
      }
      throw this.#fail(e);
    }
    if (payload === null) {
      this.#done = true;
      this.#closeWhenDone();
      return { done: true, value: undefined };
    }
    try {
      return { done: false, value: this.#codec.decode(payload) as Receive };
    } catch (e) {
      const err = new MessageFrameError(`rpcx: message did not decode: ${e}`, { cause: e });
      this.abort(err);
      throw err;
    }
  }

  /** Iterates the messages that come; leaving the loop early stops nothing (see `close`). */
  [Symbol.asyncIterator](): AsyncIterator<Receive> {
    return {
      next: () => this.next(),
      return: () => Promise.resolve({ done: true, value: undefined }),
    };
  }

  /** The messages that come, as a web stream (read only as it is pulled). */
  get readable(): ReadableStream<Receive> {
    this.#readable ??= new ReadableStream<Receive>({
      pull: async (c) => {
        const r = await this.next();
        if (r.done) c.close();
        else c.enqueue(r.value);
      },
      cancel: (reason) => this.abort(reason),
    }, { highWaterMark: 0 });
    return this.#readable;
  }

  /** Messages to send, as a web stream: closing it is `end()`, aborting it is `abort()`. */
  get writable(): WritableStream<Send> {
    this.#writable ??= new WritableStream<Send>({
      write: (m) => this.send(m),
      close: () => this.end(),
      abort: (reason) => this.abort(reason),
    });
    return this.#writable;
  }

  /**
   * Fails the stream with `reason` (a StreamError as is, else {@linkcode StreamAbortedError}),
   * tells the peer with an error frame when nothing else is being written (bounded: 1 s), and
   * closes the connection.
   */
  abort(reason?: unknown): Promise<void> {
    if (this.#failure !== undefined) return Promise.resolve();
    const err = reason instanceof StreamError ? reason : new StreamAbortedError(reason);
    this.#failure = err;
    for (const w of this.#spaceWaiters.splice(0)) w();
    if (this.#conn.closed) return Promise.resolve();
    // After the frame being written (whole frames only), then the error frame.
    const tell = (async () => {
      while (this.#flushing) await this.#flushing;
      if (!this.#conn.closed) await this.#conn.write(errorFrame(err.message));
    })().catch(() => {});
    return within(tell, 1_000).then(() => this.#conn.abort(err));
  }

  /** Closes the connection now, both directions (what is queued may be lost: `end()` first). */
  close(): void {
    this.#conn.close();
  }

  /**
   * Ends our direction and reads (dropping) what the peer still sends until it ends, within
   * `ms`, then closes: a clean close that loses none of what we sent.
   */
  async finish(ms = 5_000): Promise<void> {
    try {
      await this.end();
      const drained = (async () => {
        while (!(await this.next()).done) {
          // dropped
        }
      })();
      await within(drained, ms);
    } finally {
      this.close();
    }
  }
}
