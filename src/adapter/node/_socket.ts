/**
 * A `node:net`/`node:tls` socket as the transport's `Connection`: a chunk queue read with
 * `read(p)` (the socket is paused above 256 KiB unread and resumed below 128 KiB), writes that
 * resolve once the socket took the bytes, and the runtime's errors as the transport's
 * `SocketError`/`PeerGoneError`.
 *
 * @module
 */
import { joinHostPort } from "../../transport/address.ts";
import { PeerGoneError, type SocketError } from "../../transport/errors.ts";
import type { Connection } from "../../transport/network.ts";
import { nodeSocketError } from "./errors.ts";

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
  pause(): void;
  resume(): void;
  destroy(): void;
  setNoDelay?(noDelay: boolean): void;
  setKeepAlive?(enable: boolean, initialDelay?: number): void;
}

const HIGH_WATER = 256 * 1024;

/** The ends of a Unix socket, which `node:net` does not report: the path on one side, "" on the other. */
export interface UnixEnds {
  localAddress: string;
  remoteAddress: string;
}

/** A `node:net`/`node:tls` socket as a {@linkcode Connection}. */
export class NodeSocketConnection implements Connection {
  readonly network: string;
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly #socket: NodeSocket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: unknown;
  #waiter: (() => void) | undefined;

  /** Wraps `socket` for `network`; `unix` gives the ends of a Unix socket. */
  constructor(socket: NodeSocket, network: string, unix?: UnixEnds) {
    this.#socket = socket;
    this.network = network;
    this.localAddress = unix?.localAddress ??
      joinHostPort(socket.localAddress ?? "", socket.localPort ?? 0);
    this.remoteAddress = unix?.remoteAddress ??
      joinHostPort(socket.remoteAddress ?? "", socket.remotePort ?? 0);
    socket.on("data", (d) => {
      const chunk = d as Uint8Array;
      this.#chunks.push(chunk);
      this.#buffered += chunk.byteLength;
      if (this.#buffered > HIGH_WATER) socket.pause();
      this.#wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (e) => {
      this.#error ??= e;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
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
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== undefined) throw this.#failure("read", this.#error);
      if (this.#ended) return null;
      await new Promise<void>((r) => (this.#waiter = r));
    }
    const head = this.#chunks[0];
    const n = Math.min(p.byteLength, head.byteLength);
    p.set(head.subarray(0, n));
    if (n === head.byteLength) this.#chunks.shift();
    else this.#chunks[0] = head.subarray(n);
    this.#buffered -= n;
    if (this.#buffered <= HIGH_WATER / 2) this.#socket.resume();
    return n;
  }

  /** Writes all of `p` (copied); rejects with a `SocketError` (`PeerGoneError` once the peer left). */
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
    const copy = p.slice();
    return new Promise((resolve, reject) => {
      this.#socket.write(
        copy,
        (err) => (err ? reject(this.#failure("write", err)) : resolve(copy.byteLength)),
      );
    });
  }

  /** Destroys the socket (frees it at once). */
  close(): void {
    this.#ended = true;
    this.#socket.destroy();
    this.#wake();
  }
}

/**
 * Sets TCP_NODELAY (as Go does on every TCP connection) and keep-alive, probing after `keepAlive`
 * ms idle (undefined: the system's period; 0: off); best effort.
 */
export function tune(socket: NodeSocket, keepAlive?: number): void {
  try {
    socket.setNoDelay?.(true);
    socket.setKeepAlive?.(keepAlive !== 0, keepAlive ?? 0);
  } catch {
    // not fatal
  }
}
