/**
 * The byte stream a framed rpcx connection runs over: a socket, a WebSocket adapter, an
 * in-memory pipe.
 *
 * @module
 */

/**
 * The byte stream a `FramedConnection` runs over: what `Deno.Conn` offers, and what
 * any other transport (a WebSocket, a test pipe) can offer.
 *
 * @example
 * ```ts
 * import { type ByteStream, createMessage, FramedConnection } from "@rpcx/core/protocol";
 * // Deno.Conn is a ByteStream; so is this in-memory one, which records what is written.
 * const written: Uint8Array[] = [];
 * const recorder: ByteStream = {
 *   read: () => new Promise<number | null>(() => {}), // never delivers a byte
 *   write: (p) => {
 *     written.push(p.slice());
 *     return Promise.resolve(p.length);
 *   },
 *   close: () => {},
 * };
 * const fc = new FramedConnection(recorder, { onMessage: () => {} });
 * fc.send(createMessage({ heartbeat: true, seq: 1n }));
 * await fc.drained();
 * console.log(written[0].length); // 32: the 16-byte header and four empty fields
 * fc.close();
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
