/**
 * Handing an accepted connection's own socket to another protocol's server: a connection on a
 * `node:net`/`node:tls` socket (the Node adapter's, used by every runtime for the rpcx port when
 * it serves HTTP too) can give node:http the socket itself, so that node:http reads and writes
 * it directly rather than through a stream adapter (Go's cmux hands its `net.Conn` on the same
 * way).
 *
 * @module
 */
import type { Duplex } from "node:stream";

/** A connection that can give its runtime socket away. */
export interface SocketHandOver {
  /**
   * Stops this connection's own use of its socket (no more reads; its listeners are removed)
   * and returns the socket, paused, with every byte it read and nobody took put back in front
   * (`unshift`), ready for `http.Server.emit("connection", socket)`. The connection must not be
   * used afterwards; closing the socket is the new owner's.
   */
  handOver(): Duplex;
}

/** `conn` as a {@linkcode SocketHandOver}, or undefined when its socket cannot be handed over. */
export function handOverOf(conn: unknown): SocketHandOver | undefined {
  return typeof (conn as Partial<SocketHandOver>)?.handOver === "function"
    ? conn as SocketHandOver
    : undefined;
}
