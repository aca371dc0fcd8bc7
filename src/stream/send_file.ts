/**
 * Uploading a file (Go: `XClient.SendFile`).
 *
 * @module
 */
import { basename, openRead, type ReadFile, stat } from "./_files.ts";
import {
  type DataCaller,
  openData,
  RateLimiter,
  serializeTypeOf,
  type TransferOptions,
} from "./_client.ts";
import { readStatus, SEND_FILE_SERVICE_NAME, uploadArgs } from "./_wire.ts";
import { StreamError, TransferIncompleteError } from "./errors.ts";

/**
 * Options of {@linkcode sendFile}.
 *
 * @example
 * ```ts
 * import type { SendFileOptions } from "@rpcx/core/stream";
 * const o: SendFileOptions = { rateLimit: 1 << 20, meta: { foo: "bar" } };
 * console.log(o.rateLimit); // 1048576 bytes/s
 * ```
 */
export interface SendFileOptions extends TransferOptions {
  /**
   * At most this many bytes/s (Go: `rateInBytesPerSecond`, a token bucket of one second's bytes
   * that starts full); 0 or unset: no limit.
   */
  rateLimit?: number;
  /** The name sent (default: the path's base name, as Go; required for a stream). */
  fileName?: string;
  /** The size sent, bytes (default: the file's size; for a stream: -1, unknown). */
  fileSize?: number;
}

/**
 * How a transfer went: the bytes moved, and whether the server confirmed them (a Deno server
 * does; a Go server never says).
 *
 * @example
 * ```ts
 * import type { TransferResult } from "@rpcx/core/stream";
 * const r: TransferResult = { bytes: 5, confirmed: true };
 * console.log(r.bytes);
 * ```
 */
export interface TransferResult {
  /** Bytes sent or received. */
  bytes: number;
  /** The server confirmed them (stored the upload; told the download's size and it matched). */
  confirmed: boolean;
}

/** Read buffer of an upload, bytes. */
const CHUNK = 256 * 1024;

/** A chunk's header: its length, big-endian uint32. */
function chunkHead(n: number): Uint8Array {
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, n);
  return h;
}

function chunkOf(rate: number): number {
  return rate > 0 ? Math.min(CHUNK, Math.max(1024, Math.floor(rate / 10))) : CHUNK;
}

/**
 * Sends a file to the `_filetransfer` service (Go: `XClient.SendFile(ctx, fileName,
 * rateInBytesPerSecond, meta)`): calls `TransferFile` through `caller` (an XClient made for
 * `_filetransfer`, so its selection and fail mode pick the server), dials the address in the
 * reply, writes the 32-byte token, then the file's bytes, at most `rateLimit` bytes/s.
 * `source` is a path (its base name and size are sent, as Go) or a `ReadableStream` (give
 * `fileName`; `fileSize` defaults to -1, unknown). The file is read in 256 KiB chunks, never
 * held whole.
 *
 * With a Deno server the transfer is confirmed: it resolves once the server stored the file,
 * and rejects with the server's typed error when it could not ({@linkcode DiskFullError},
 * {@linkcode FileTooLargeError}, {@linkcode TransferIncompleteError},
 * {@linkcode FileNameNotAllowedError}...). With a Go server it resolves once the bytes are
 * written, as Go's client does.
 *
 * @throws {TypeError} for a stream without `fileName`.
 * @throws {StreamError} subclasses: {@linkcode DataConnectionError}, {@linkcode TokenError},
 * {@linkcode DataTimeoutError}, {@linkcode StreamAbortedError}; the call's own errors
 * (`ServiceError`, `NoServerAvailableError`...) as the XClient throws them.
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
 * import { sendFile } from "@rpcx/core/stream";
 * const xclient = new XClient("_filetransfer", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery("tcp@127.0.0.1:8972"));
 * try {
 *   const r = await sendFile(xclient, "abc.txt", { rateLimit: 0, meta: { foo: "bar" } });
 *   console.log("send ok", r.bytes);
 * } catch (e) {
 *   console.log("failed:", (e as Error).message);
 * }
 * await xclient.close();
 * ```
 */
export async function sendFile(
  caller: DataCaller,
  source: string | ReadableStream<Uint8Array>,
  options: SendFileOptions = {},
): Promise<TransferResult> {
  let file: ReadFile | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let fileName: string;
  let fileSize: number;
  if (typeof source === "string") {
    const s = await stat(source);
    file = await openRead(source);
    fileName = options.fileName ?? basename(source);
    fileSize = options.fileSize ?? s?.size ?? 0;
  } else {
    if (!options.fileName) throw new TypeError("sendFile: a stream needs options.fileName");
    fileName = options.fileName;
    fileSize = options.fileSize ?? -1;
    reader = source.getReader();
  }
  const rate = options.rateLimit ?? 0;
  const limiter = rate > 0 ? new RateLimiter(rate) : undefined;
  const st = serializeTypeOf(options);
  let sent = 0;
  let opened;
  try {
    opened = await openData(
      caller,
      SEND_FILE_SERVICE_NAME,
      "TransferFile",
      uploadArgs(st, { fileName, fileSize, meta: {} }, options.meta),
      options,
    );
  } catch (e) {
    await file?.close();
    await reader?.cancel(e).catch(() => {});
    throw e;
  }
  const { conn, status, release } = opened;
  // The server's verdict: read while sending, so a failure (disk full) stops us at once.
  const verdict = status
    ? readStatus(conn).then((err) => {
      if (err) conn.abort(err);
      return err;
    }, (e) => e)
    : undefined;
  try {
    // An announced size is what is sent, no more (a file growing meanwhile is cut there); a
    // source that ends short fails.
    const left = () => (fileSize >= 0 ? fileSize - sent : Infinity);
    // Of unknown size, to a server that reports (a Deno one): in chunks ended by a zero length,
    // so the end is told without closing (no half-close) and a cut is never taken for it.
    const chunked = verdict !== undefined && fileSize < 0;
    const buf = new Uint8Array(chunkOf(rate));
    while (left() > 0) {
      let chunk: Uint8Array;
      if (file) {
        const want = Math.min(buf.byteLength, left());
        if (limiter) await limiter.wait(want, options.signal);
        const n = await file.read(buf.subarray(0, want));
        if (n === null) break;
        chunk = buf.subarray(0, n);
      } else {
        const r = await reader!.read();
        if (r.done) break;
        chunk = r.value.byteLength > left() ? r.value.subarray(0, left()) : r.value;
        if (limiter) await limiter.wait(chunk.byteLength, options.signal);
      }
      if (chunk.byteLength === 0) continue;
      if (chunked) await conn.write(chunkHead(chunk.byteLength));
      await conn.write(chunk);
      sent += chunk.byteLength;
    }
    if (left() > 0 && left() !== Infinity) throw new TransferIncompleteError(fileSize, sent);
    await reader?.cancel().catch(() => {});
    if (!verdict) {
      // Go's server says nothing: the bytes are written, as Go's client has it.
      conn.close();
      return { bytes: sent, confirmed: false };
    }
    if (chunked) await conn.write(chunkHead(0));
    const err = await verdict;
    if (err) throw err;
    conn.close();
    return { bytes: sent, confirmed: true };
  } catch (e) {
    // A typed error from the server explains the broken write better.
    const told = conn.closed && conn.signal.reason instanceof StreamError ? conn.signal.reason : e;
    conn.abort(told);
    await reader?.cancel(told).catch(() => {});
    throw told;
  } finally {
    await file?.close();
    release();
  }
}
