/**
 * A data connection as handlers and clients use it: reads and writes bounded by an idle
 * timeout, abort with a typed reason, and web streams over the same socket.
 *
 * @module
 */
import type { RawConn } from "./_socket.ts";
import { DataConnectionError, DataTimeoutError, StreamError } from "./errors.ts";

/**
 * A data connection of the file transfer or the stream service (Go hands a `net.Conn`): raw
 * bytes both ways after the token. Use either `read`/`write` or the web streams, not both at
 * once in one direction. A read or write that makes no progress for the idle timeout fails
 * with {@linkcode DataTimeoutError} and closes the connection; a broken socket fails with
 * {@linkcode DataConnectionError}.
 *
 * There is no half-close (it is not portable across runtimes): a direction ends when the peer
 * closes the connection, or by what the two sides agree on (a size, a message). Closing
 * `writable` stops our writes; the socket closes once the peer's end came too, or on `close()`.
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
 * import { type DataConn, enableStreamService, stream, StreamService } from "@rpcx/core/stream";
 * // Go's stream example handler, io.Copy(conn, conn): echo until the caller closes.
 * async function echo(conn: DataConn) {
 *   await conn.readable.pipeTo(conn.writable);
 * }
 * const server = new Server();
 * const ss = new StreamService({ handler: echo });
 * await enableStreamService(server, ss);
 * const xclient = new XClient("_streamservice", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery(`tcp@${await server.serve("tcp", "127.0.0.1:0")}`));
 * const conn: DataConn = await stream(xclient); // the caller's end is a DataConn too
 * await conn.write(new TextEncoder().encode("hi"));
 * const back = new Uint8Array(2);
 * for (let got = 0; got < back.byteLength;) got += (await conn.read(back.subarray(got))) ?? 0;
 * console.log(new TextDecoder().decode(back)); // hi
 * conn.close();
 * await xclient.close();
 * await server.close();
 * await ss.close();
 * ```
 */
export interface DataConn {
  /** Our end: `host:port` or a socket path. */
  readonly localAddress: string;
  /** The peer's end. */
  readonly remoteAddress: string;
  /** Aborted when the connection fails or is closed; `reason` is the typed error. */
  readonly signal: AbortSignal;
  /** The bytes the peer sends, until it closes (or an upload's announced size). */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer; closing it stops our writes, aborting it closes the connection. */
  readonly writable: WritableStream<Uint8Array>;
  /** Reads into `p`: how many bytes came, or null at the end. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes all of `p`; resolves once the socket took it (backpressure). */
  write(p: Uint8Array): Promise<void>;
  /** Closes both directions. Idempotent. */
  close(): void;
  /** Closes both directions at once; pending and later reads and writes fail with `reason`. */
  abort(reason?: unknown): void;
}

/** Chunk size of `readable` in bytes. */
const READ_CHUNK = 64 * 1024;

function socketError(e: unknown, op: string): StreamError {
  if (e instanceof StreamError) return e;
  return new DataConnectionError(`rpcx: data connection ${op}: ${(e as Error)?.message ?? e}`, {
    cause: e,
  });
}

/** The {@linkcode DataConn} over a {@linkcode RawConn}. */
export class Conn implements DataConn {
  readonly #raw: RawConn;
  readonly #idle: number;
  readonly #abort = new AbortController();
  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;
  #readEnded = false;
  #writeEnded = false;
  #closing: Promise<void> | undefined;
  #clean = false;
  readonly #pending = { read: 0, write: 0 };
  #last = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #left = Infinity;
  #chunks: { left: number; done: boolean } | undefined;
  /** Runs once before a `close()` by the user (a server writes its success status there). */
  beforeClose: (() => Promise<void>) | undefined;

  /** Wraps `raw`; reads and writes fail after `idleTimeout` ms without progress (0: never). */
  constructor(raw: RawConn, idleTimeout: number) {
    this.#raw = raw;
    this.#idle = idleTimeout;
  }

  get localAddress(): string {
    return this.#raw.localAddress;
  }
  get remoteAddress(): string {
    return this.#raw.remoteAddress;
  }
  get signal(): AbortSignal {
    return this.#abort.signal;
  }
  /** Whether the connection is closed or aborted. */
  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  #failure(e: unknown, op: string): unknown {
    if (this.#abort.signal.aborted) return this.#abort.signal.reason;
    const err = socketError(e, op);
    this.abort(err);
    return err;
  }

  /**
   * `p`, counted as a pending `op`: while anything is pending, the connection fails with
   * DataTimeoutError once no read or write completed for the idle bound (progress either way
   * counts, so an upload's status read waits as long as the upload moves).
   */
  async #bounded<T>(start: () => Promise<T>, op: "read" | "write"): Promise<T> {
    if (this.#abort.signal.aborted) throw this.#abort.signal.reason;
    const p = start();
    if (this.#pending.read + this.#pending.write === 0) this.#last = performance.now();
    this.#pending[op]++;
    this.#arm();
    try {
      const v = await p;
      this.#last = performance.now();
      return v;
    } catch (e) {
      throw this.#failure(e, op);
    } finally {
      this.#pending[op]--;
      if (this.#pending.read + this.#pending.write === 0 && this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
    }
  }

  #arm(): void {
    if (this.#idle <= 0 || this.#timer !== undefined) return;
    const wait = Math.max(0, this.#last + this.#idle - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#pending.read + this.#pending.write === 0) return;
      if (performance.now() - this.#last < this.#idle) return this.#arm();
      this.abort(new DataTimeoutError(this.#idle, this.#pending.read ? "read" : "write"));
    }, wait);
  }

  async read(p: Uint8Array): Promise<number | null> {
    if (!this.#chunks) return await this.#read(p);
    if (this.#chunks.done) return null;
    while (this.#chunks.left === 0) {
      const head = new Uint8Array(4);
      let got = 0;
      while (got < 4) {
        const n = await this.#read(head.subarray(got));
        if (n === null) {
          throw this.#failure(
            new DataConnectionError("rpcx: the upload was cut before its end"),
            "read",
          );
        }
        got += n;
      }
      const size = new DataView(head.buffer).getUint32(0);
      if (size === 0) {
        this.#chunks.done = true;
        return null;
      }
      this.#chunks.left = size;
    }
    const n = await this.#read(p.subarray(0, Math.min(p.byteLength, this.#chunks.left)));
    if (n === null) {
      throw this.#failure(
        new DataConnectionError("rpcx: the upload was cut before its end"),
        "read",
      );
    }
    this.#chunks.left -= n;
    return n;
  }

  async #read(p: Uint8Array): Promise<number | null> {
    if (this.#abort.signal.aborted) throw this.#abort.signal.reason;
    if (this.#left === 0) return null;
    const view = p.byteLength > this.#left ? p.subarray(0, this.#left) : p;
    const n = await this.#bounded(() => this.#raw.read(view), "read");
    if (n === null) this.#ended("read");
    else this.#left -= n;
    return n;
  }

  /** Reads end (null) after `n` more bytes: an upload of an announced size (internal). */
  limitReads(n: number): void {
    this.#left = n;
  }

  /**
   * Reads come in chunks, a big-endian uint32 length before each, ended by a zero length: an
   * upload of unknown size from a caller that asked for status frames (internal). The end
   * missing fails the read with DataConnectionError.
   */
  chunkedReads(on: boolean): void {
    this.#chunks = on ? { left: 0, done: false } : undefined;
  }

  /** Reads exactly `p.byteLength` bytes; the count read when the peer ended first. */
  async readFull(p: Uint8Array): Promise<number> {
    let o = 0;
    while (o < p.byteLength) {
      const n = await this.read(p.subarray(o));
      if (n === null) return o;
      o += n;
    }
    return o;
  }

  async write(p: Uint8Array): Promise<void> {
    for (let o = 0; o < p.byteLength;) {
      o += await this.#bounded(() => this.#raw.write(p.subarray(o)), "write");
    }
  }

  /** No more writes from us (no half-close: see the interface). */
  endWrites(): void {
    this.#ended("write");
  }

  #ended(dir: "read" | "write"): void {
    if (dir === "read") this.#readEnded = true;
    else this.#writeEnded = true;
    if (this.#readEnded && this.#writeEnded) this.shut();
  }

  /** Whether it was closed (by `close()` or both directions ending), not aborted. */
  get closedCleanly(): boolean {
    return this.#clean;
  }

  /** Closes the socket without `beforeClose` (internal). */
  shut(): void {
    if (this.#abort.signal.aborted) return;
    this.#clean = true;
    this.#abort.abort(new DataConnectionError("rpcx: data connection closed"));
    clearTimeout(this.#timer);
    this.#raw.close();
  }

  close(): void {
    void this.finish();
  }

  /** `close()`, resolved once `beforeClose` ran and the socket is closed (internal). */
  finish(): Promise<void> {
    if (this.#closing) return this.#closing;
    const before = this.beforeClose;
    this.beforeClose = undefined;
    this.#closing = before && !this.#abort.signal.aborted
      ? before().catch(() => {}).then(() => this.shut())
      : Promise.resolve(this.shut());
    return this.#closing;
  }

  abort(reason?: unknown): void {
    if (this.#abort.signal.aborted) return;
    this.beforeClose = undefined;
    this.#abort.abort(reason ?? new DataConnectionError("rpcx: data connection aborted"));
    clearTimeout(this.#timer);
    this.#raw.close();
  }

  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const buf = new Uint8Array(READ_CHUNK);
        const n = await this.read(buf);
        if (n === null) controller.close();
        else controller.enqueue(buf.subarray(0, n));
      },
      cancel: () => {
        this.#ended("read");
      },
    }, { highWaterMark: 0 });
    return this.#readable;
  }

  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.endWrites(),
      abort: (reason) => this.abort(reason),
    }, { highWaterMark: 1 });
    return this.#writable;
  }
}
