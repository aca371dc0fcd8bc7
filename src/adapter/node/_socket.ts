/**
 * A `node:net`/`node:tls` socket as the transport's `Connection`: the chunks the socket delivers
 * are read with `read(p)` (straight into a read that waits, else queued; the socket is paused
 * above 256 KiB unread and resumed below 128 KiB), writes resolve once the socket took the bytes
 * (not copied: the caller's buffer is the socket's until then), and the runtime's errors become
 * the transport's `SocketError`/`PeerGoneError`. The socket can be handed over whole
 * (`handOver()`: the server's HTTP side gives it to node:http).
 *
 * @module
 */
import type { Duplex } from "node:stream";
import { setImmediate } from "node:timers";
import { joinHostPort } from "../../transport/address.ts";
import { PeerGoneError, type SocketError } from "../../transport/errors.ts";
import type { Connection } from "../../transport/network.ts";
import type { SocketHandOver } from "../../transport/_hand_over.ts";
import { nodeSocketError } from "./errors.ts";
import { deadline } from "../../_internal/async.ts";

/** The part of a `node:net` `Socket` (or `tls.TLSSocket`) used here. */
export interface NodeSocket {
  remoteAddress?: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
  on(event: string, fn: (arg?: unknown) => void): void;
  once(event: string, fn: (arg?: unknown) => void): void;
  off(event: string, fn: (arg?: unknown) => void): void;
  write(data: Uint8Array, cb: (err?: unknown) => void): boolean;
  unshift(chunk: Uint8Array): void;
  pause(): void;
  resume(): void;
  destroy(): void;
  setNoDelay?(noDelay: boolean): void;
  setKeepAlive?(enable: boolean, initialDelay?: number): void;
}

const HIGH_WATER = 256 * 1024;
const EMPTY: readonly Uint8Array[] = [];

/**
 * Writes of every node:net connection resolved since the event loop last had a turn. Deno's
 * node:net calls a write's callback without going back to the event loop when the kernel took
 * the bytes at once, so a loop that awaits its writes (a server pushing to a client) ran for
 * ever on microtasks: no timer, no read, no accept (measured: 66,000 writes in 0.38 s with one
 * timer tick; the peer's close went unseen). Past YIELD_AFTER such writes a write resolves after
 * a turn of the event loop (`setImmediate`: 1 in 64 writes, throughput unchanged).
 */
let writesInTurn = 0;
let turnMarked = false;
const YIELD_AFTER = 64;
const endTurn = () => {
  writesInTurn = 0;
  turnMarked = false;
};

/** The ends of a Unix socket, which `node:net` does not report: the path on one side, "" on the other. */
export interface UnixEnds {
  localAddress: string;
  remoteAddress: string;
}

/** A `node:net`/`node:tls` socket as a {@linkcode Connection}. */
export class NodeSocketConnection implements Connection, SocketHandOver {
  readonly network: string;
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly #socket: NodeSocket;
  /** Chunks not yet read, from `#first` on. */
  #chunks: Uint8Array[] = EMPTY as Uint8Array[];
  #first = 0;
  #buffered = 0;
  #ended = false;
  /** Given away by `handOver()`: `close()` no longer destroys it. */
  #handedOver = false;
  #paused = false;
  #error: unknown;
  /** The buffer of the read waiting for bytes, with its promise's ends. */
  #want: Uint8Array | undefined;
  #resolve: ((n: number | null) => void) | undefined;
  #reject: ((e: unknown) => void) | undefined;
  readonly #onData = (d: unknown) => this.#data(d as Uint8Array);
  readonly #onEnd = () => {
    this.#ended = true;
    this.#wake();
  };
  readonly #onError = (e: unknown) => {
    this.#error ??= e;
    this.#wake();
  };

  /** Wraps `socket` for `network`; `unix` gives the ends of a Unix socket. */
  constructor(socket: NodeSocket, network: string, unix?: UnixEnds) {
    this.#socket = socket;
    this.network = network;
    this.localAddress = unix?.localAddress ??
      joinHostPort(socket.localAddress ?? "", socket.localPort ?? 0);
    this.remoteAddress = unix?.remoteAddress ??
      joinHostPort(socket.remoteAddress ?? "", socket.remotePort ?? 0);
    socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    socket.on("close", this.#onEnd);
    socket.on("error", this.#onError);
  }

  #data(chunk: Uint8Array): void {
    const want = this.#want;
    if (want !== undefined) {
      // A read is waiting (so nothing is queued): the bytes go straight into its buffer.
      const n = Math.min(want.byteLength, chunk.byteLength);
      want.set(n === chunk.byteLength ? chunk : chunk.subarray(0, n));
      if (n < chunk.byteLength) this.#queue(chunk.subarray(n));
      const resolve = this.#resolve!;
      this.#want = this.#resolve = this.#reject = undefined;
      resolve(n);
      return;
    }
    this.#queue(chunk);
  }

  #queue(chunk: Uint8Array): void {
    if (this.#chunks === EMPTY) this.#chunks = [];
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    if (this.#buffered > HIGH_WATER && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  /** A waiting read learns of the end or the error. */
  #wake(): void {
    const resolve = this.#resolve;
    if (resolve === undefined) return;
    const reject = this.#reject!;
    this.#want = this.#resolve = this.#reject = undefined;
    if (this.#error !== undefined) reject(this.#failure("read", this.#error));
    else resolve(null);
  }

  #failure(op: "read" | "write", e: unknown): SocketError {
    return nodeSocketError(e, {
      op,
      network: this.network,
      localAddress: this.localAddress,
      remoteAddress: this.remoteAddress,
    });
  }

  /** Reads into `p`; null at the end of the stream; rejects with a `SocketError`. */
  read(p: Uint8Array): Promise<number | null> {
    const chunks = this.#chunks;
    if (this.#first < chunks.length) {
      // As many queued chunks as fit: a peer that writes small segments (Go's SendFile: 1 KiB)
      // queues many small chunks, and one chunk a read would cost a read per segment.
      let n = 0;
      while (n < p.byteLength && this.#first < this.#chunks.length) {
        const head = chunks[this.#first];
        const k = Math.min(p.byteLength - n, head.byteLength);
        p.set(k === head.byteLength ? head : head.subarray(0, k), n);
        n += k;
        if (k < head.byteLength) chunks[this.#first] = head.subarray(k);
        else if (++this.#first === chunks.length) {
          this.#chunks = EMPTY as Uint8Array[];
          this.#first = 0;
        }
      }
      this.#buffered -= n;
      if (this.#paused && this.#buffered <= HIGH_WATER / 2) {
        this.#paused = false;
        this.#socket.resume();
      }
      return Promise.resolve(n);
    }
    if (this.#error !== undefined) return Promise.reject(this.#failure("read", this.#error));
    if (this.#ended) return Promise.resolve(null);
    if (this.#want !== undefined) {
      return Promise.reject(new TypeError("a read is already pending on this connection"));
    }
    return new Promise((resolve, reject) => {
      this.#want = p;
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /**
   * Writes all of `p`; resolves once the socket has taken it (until then `p` must not change);
   * rejects with a `SocketError` (`PeerGoneError` once the peer left).
   */
  write(p: Uint8Array): Promise<number> {
    if (this.#error !== undefined) return Promise.reject(this.#failure("write", this.#error));
    if (this.#ended) {
      return Promise.reject(
        new PeerGoneError({
          op: "write",
          network: this.network,
          localAddress: this.localAddress,
          remoteAddress: this.remoteAddress,
        }, "broken-pipe"),
      );
    }
    return new Promise((resolve, reject) => {
      this.#socket.write(p, (err) => {
        if (err) return reject(this.#failure("write", err));
        if (++writesInTurn > YIELD_AFTER) {
          writesInTurn = 0;
          setImmediate(() => resolve(p.byteLength));
          return;
        }
        if (!turnMarked) {
          turnMarked = true;
          setImmediate(endTurn);
        }
        resolve(p.byteLength);
      });
    });
  }

  /** Bytes received and not yet read (queued here), in bytes. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Destroys the socket (frees it at once); a socket handed over is its new owner's: left alone. */
  close(): void {
    this.#ended = true;
    if (!this.#handedOver) this.#socket.destroy();
    this.#wake();
  }

  /**
   * Gives the socket away, paused, with the bytes read and not yet taken put back in front; this
   * connection then reads nothing more (a waiting read ends) and no longer closes it.
   */
  handOver(): Duplex {
    const s = this.#socket;
    s.pause();
    s.off("data", this.#onData);
    s.off("end", this.#onEnd);
    s.off("close", this.#onEnd);
    s.off("error", this.#onError);
    for (let i = this.#chunks.length - 1; i >= this.#first; i--) s.unshift(this.#chunks[i]);
    this.#chunks = EMPTY as Uint8Array[];
    this.#first = this.#buffered = 0;
    this.#ended = this.#handedOver = true;
    this.#wake();
    return s as unknown as Duplex;
  }
}

/**
 * Go's keep-alive period of a client's connections, ms (`client.DefaultOption.TCPKeepAlivePeriod`,
 * one minute): the default where setting a period costs nothing (node:net's sockets).
 */
export const GO_CLIENT_KEEPALIVE_PERIOD = 60_000;
/** Go's keep-alive period of a server's accepted connections, ms (`server.NewServer`: 3 minutes). */
export const GO_SERVER_KEEPALIVE_PERIOD = 180_000;

/**
 * Sets TCP_NODELAY (as Go does on every TCP connection) and keep-alive, probing after `keepAlive`
 * ms idle (undefined: `fallback`, Go's period for the side; 0: off); best effort.
 */
export function tune(socket: NodeSocket, keepAlive: number | undefined, fallback: number): void {
  const period = keepAlive ?? fallback;
  try {
    socket.setNoDelay?.(true);
    socket.setKeepAlive?.(period !== 0, period);
  } catch {
    // not fatal
  }
}

/**
 * One connect attempt of a `node:net` / `node:tls` socket: at its `ready` event (`"connect"`,
 * `"secureConnect"`) resolves with `onReady()`, run in that event's handler (the socket's
 * `error` listener removed just before, so the connection `onReady` makes gets every later
 * event); rejects with the socket's first error, or with `onTimeout()` once `ms` milliseconds
 * have passed ({@linkcode deadline}). On an error or the time, the socket is destroyed at that
 * moment and its later errors ignored.
 */
export function connectAttempt<T>(
  socket: NodeSocket,
  ready: string,
  ms: number,
  onTimeout: () => unknown,
  onReady: () => T,
): Promise<T> {
  let failed!: (e: unknown) => void;
  let dropped = false;
  const drop = () => {
    if (dropped) return;
    dropped = true;
    socket.off("error", failed);
    socket.on("error", () => {});
    socket.destroy();
  };
  const attempt = new Promise<T>((resolve, reject) => {
    failed = (e) => {
      drop();
      reject(e);
    };
    socket.once(ready, () => {
      socket.off("error", failed);
      resolve(onReady());
    });
    socket.on("error", failed);
  });
  return deadline(attempt, ms, {
    onTimeout: () => {
      drop();
      return onTimeout();
    },
  });
}
