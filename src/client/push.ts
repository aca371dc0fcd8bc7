/**
 * Receiving server pushes (Go rpcx's bidirectional mode): the message a client is handed, and the
 * bounded stream {@linkcode Client.serverMessages} / {@linkcode XClient.serverMessages} return.
 *
 * @module
 */
import type { Message, Metadata } from "../protocol/message.ts";
import { logger } from "../log/logger.ts";

/**
 * A message a server pushed (Go: `Server.SendMessage`), as a client receives it.
 *
 * @example
 * ```ts
 * import { type CallContext, Client, Server, type ServerMessage } from "@rpcx/core";
 * function show(m: ServerMessage) {
 *   console.log(m.server, m.servicePath, m.serviceMethod, new TextDecoder().decode(m.data));
 * }
 * const server = new Server();
 * server.registerFunction("News", function Subscribe(_args: unknown, ctx: CallContext) {
 *   setTimeout(() => server.sendMessage(ctx.conn, "News", "Tick", {}, "hello"), 0);
 *   return "ok";
 * });
 * const client = new Client(`tcp@${await server.serve("tcp", "127.0.0.1:0")}`);
 * const pushes = client.serverMessages();
 * await client.call("News", "Subscribe", {});
 * const { value } = await pushes.next();
 * show(value!); // tcp@127.0.0.1:… News Tick hello
 * await client.close();
 * await server.close();
 * ```
 */
export interface ServerMessage {
  /** The server it came from, `network@host:port` (the client's address). */
  readonly server: string;
  /** Service path the server set (may be empty). */
  readonly servicePath: string;
  /** Service method the server set (may be empty). */
  readonly serviceMethod: string;
  /** Metadata the server set. */
  readonly metadata: Readonly<Metadata>;
  /** The serialize type of the payload (Go's `SendMessage` always sends 0, SerializeNone). */
  readonly serializeType: number;
  /** The server's sequence number of the push. */
  readonly seq: bigint;
  /** The payload bytes as received, decompressed (Go: `msg.Payload`). */
  readonly data: Uint8Array;
  /**
   * The payload decoded with the message's serializer (a `Uint8Array` for SerializeNone);
   * undefined when it could not be decoded (see `decodeError`).
   */
  readonly payload: unknown;
  /** Why `payload` could not be decoded (no codec for the serialize type, bad bytes). */
  readonly decodeError?: Error;
  /** The whole message. */
  readonly message: Message;
}

/**
 * Called with every push a client receives (`ClientOptions.onServerMessage`). It runs on the
 * connection's read path: keep it short; what it throws (or its promise rejects with) is logged.
 * With `bidirectionalBlock`, a returned promise pauses reading the connection until it settles.
 *
 * @example
 * ```ts
 * import { Client } from "@rpcx/core";
 * import type { ServerMessageHandler } from "@rpcx/core/extend";
 * const onServerMessage: ServerMessageHandler = (m) => console.log(m.serviceMethod, m.payload);
 * new Client("tcp@127.0.0.1:8972", { onServerMessage });
 * ```
 */
export type ServerMessageHandler = (msg: ServerMessage) => unknown;

/**
 * Options of {@linkcode Client.serverMessages}: how much the stream keeps while its reader is
 * behind. Past either limit a push is dropped (as Go's non-blocking `ServerMessageChan` drops
 * when full), counted in `dropped`, and the first drop of the stream is logged.
 *
 * @example
 * ```ts
 * import type { ServerMessagesOptions } from "@rpcx/core";
 * const o: ServerMessagesOptions = { maxBuffered: 100, maxBufferedBytes: 1 << 20 };
 * console.log(o.maxBuffered);
 * ```
 */
export interface ServerMessagesOptions {
  /** Messages kept unread (default 1024). */
  maxBuffered?: number;
  /** Payload bytes kept unread (default 16 MiB). */
  maxBufferedBytes?: number;
  /** Ends the stream when aborted. */
  signal?: AbortSignal;
}

/** Default of {@linkcode ServerMessagesOptions.maxBuffered}. */
const DEFAULT_MAX_BUFFERED = 1024;
/** Default of {@linkcode ServerMessagesOptions.maxBufferedBytes}. */
const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/**
 * An async iterator over the pushes a client receives, from the moment it was created until it
 * ends: when `return()` is called (a `for await` loop left by `break`), its `signal` aborts, or
 * the client is closed. Bounded: see {@linkcode ServerMessagesOptions}.
 *
 * @example
 * ```ts
 * import { Client } from "@rpcx/core";
 * const client = new Client("tcp@127.0.0.1:8972");
 * const pushes = client.serverMessages({ maxBuffered: 100 });
 * await client.close(); // ends the stream
 * for await (const m of pushes) console.log(m.payload);
 * console.log(pushes.dropped); // 0
 * ```
 */
export class ServerMessageStream implements AsyncIterableIterator<ServerMessage> {
  readonly #maxBuffered: number;
  readonly #maxBytes: number;
  readonly #onEnd: (s: ServerMessageStream) => void;
  #queue: ServerMessage[] = [];
  #head = 0;
  #bytes = 0;
  #waiter: ((r: IteratorResult<ServerMessage>) => void) | undefined;
  /** Blocked deliveries waiting for room (bidirectionalBlock). */
  #roomWaiters: (() => void)[] = [];
  #ended = false;
  #dropped = 0;

  /** Made by `serverMessages()`; `onEnd` unsubscribes it. */
  constructor(options: ServerMessagesOptions, onEnd: (s: ServerMessageStream) => void) {
    this.#maxBuffered = Math.max(1, options.maxBuffered ?? DEFAULT_MAX_BUFFERED);
    this.#maxBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.#onEnd = onEnd;
    const signal = options.signal;
    if (signal?.aborted) this.end();
    else signal?.addEventListener("abort", () => this.end(), { once: true });
  }

  /** Pushes dropped because the reader was behind by more than the limits. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Pushes received and not yet read. */
  get buffered(): number {
    return this.#queue.length - this.#head;
  }

  /** Payload bytes received and not yet read. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  /**
   * Hands a push to the reader, or keeps it, or (over the limits) drops it — or, with `block`,
   * keeps it and returns a promise that resolves once the buffer is back under its limits.
   * Internal.
   */
  deliver(msg: ServerMessage, block = false): Promise<void> | undefined {
    if (this.#ended) return;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w({ value: msg, done: false });
      return;
    }
    const size = msg.data.byteLength;
    if (block) {
      this.#queue.push(msg);
      this.#bytes += size;
      if (!this.#full()) return;
      return new Promise((r) => this.#roomWaiters.push(r));
    }
    if (
      this.buffered >= this.#maxBuffered ||
      (this.buffered > 0 && this.#bytes + size > this.#maxBytes)
    ) {
      if (this.#dropped++ === 0) {
        logger().warn(
          "rpcx client: server message stream is full; dropping pushes until it is read " +
            "(further drops are counted in .dropped, not logged)",
          { server: msg.server, buffered: this.buffered, bufferedBytes: this.#bytes },
        );
      }
      return;
    }
    this.#queue.push(msg);
    this.#bytes += size;
  }

  #full(): boolean {
    return this.buffered >= this.#maxBuffered || this.#bytes >= this.#maxBytes;
  }

  #wakeRoomWaiters(): void {
    if (this.#roomWaiters.length === 0 || (this.#full() && !this.#ended)) return;
    const w = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const f of w) f();
  }

  /** The next push; waits for one; `done` once the stream ended and its buffer was read. */
  next(): Promise<IteratorResult<ServerMessage>> {
    if (this.#head < this.#queue.length) {
      const value = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined as unknown as ServerMessage;
      this.#bytes -= value.data.byteLength;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#wakeRoomWaiters();
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter) return Promise.reject(new TypeError("serverMessages: next() while waiting"));
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  /** Ends the stream and drops what is unread. */
  return(): Promise<IteratorResult<ServerMessage>> {
    this.end();
    this.#queue = [];
    this.#head = 0;
    this.#bytes = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Ends the stream; what is buffered can still be read. Idempotent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onEnd(this);
    this.#wakeRoomWaiters();
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.({ value: undefined, done: true });
  }

  /** The stream itself. */
  [Symbol.asyncIterator](): ServerMessageStream {
    return this;
  }
}
