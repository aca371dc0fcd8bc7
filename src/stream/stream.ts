/**
 * Opening a raw byte stream (Go: `XClient.Stream`).
 *
 * @module
 */
import type { DataConn } from "./_conn.ts";
import {
  type DataCaller,
  openData,
  type Opened,
  serializeTypeOf,
  type TransferOptions,
} from "./_client.ts";
import { STREAM_SERVICE_NAME, streamArgs } from "./_wire.ts";

/**
 * Opens a stream to the `_streamservice` service (Go: `XClient.Stream(ctx, meta)`, which
 * returns a `net.Conn`): calls `Stream` through `caller` (an XClient made for
 * `_streamservice`, so its selection and fail mode pick the server), dials the address in the
 * reply and writes the 32-byte token. Then raw bytes flow both ways on the returned
 * {@linkcode DataConn}: `readable`/`writable` (web streams, with backpressure) or
 * `read`/`write`. There is no half-close: end by what both sides agree on (Go's example
 * closes once done), with `close()`. `options.signal` aborts it at any time
 * ({@linkcode StreamAbortedError}).
 *
 * With a Deno server the token is confirmed before this resolves ({@linkcode TokenError}
 * otherwise); the acceptor's refusal rejects with {@linkcode StreamNotAcceptedError} (from Go
 * too: its text "server refused the connection").
 *
 * @throws {StreamError} subclasses: {@linkcode StreamNotAcceptedError},
 * {@linkcode DataConnectionError}, {@linkcode TokenError}, {@linkcode StreamAbortedError}; the
 * call's own errors as the XClient throws them.
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
 * import { stream } from "@rpcx/core/stream";
 * const xclient = new XClient("_streamservice", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery("tcp@127.0.0.1:8972"));
 * try {
 *   const conn = await stream(xclient, { foo: "bar" });
 *   const line = new TextEncoder().encode("#0: hello\n");
 *   await conn.write(line);
 *   const back = new Uint8Array(line.byteLength);
 *   for (let got = 0; got < back.byteLength;) got += (await conn.read(back.subarray(got))) ?? 0;
 *   console.log(new TextDecoder().decode(back));
 *   conn.close(); // Go's echo handler then closes too
 * } catch (e) {
 *   console.log("failed:", (e as Error).message);
 * }
 * await xclient.close();
 * ```
 */
export async function stream(
  caller: DataCaller,
  meta?: Record<string, string>,
  options: TransferOptions = {},
): Promise<DataConn> {
  const { conn, release } = await openStream(caller, meta, options);
  conn.signal.addEventListener("abort", release, { once: true });
  return conn;
}

/** {@linkcode stream}, with the hook of `options.signal` left to the caller (internal). */
export function openStream(
  caller: DataCaller,
  meta: Record<string, string> | undefined,
  options: TransferOptions,
): Promise<Opened> {
  return openData(
    caller,
    STREAM_SERVICE_NAME,
    "Stream",
    streamArgs(serializeTypeOf(options), meta ?? options.meta),
    options,
  );
}
