/**
 * Downloading a file (Go: `XClient.DownloadFile`).
 *
 * @module
 */
import { createNew, partPath, removeQuietly, rename, type WriteFile } from "./_files.ts";
import { type DataCaller, openData, serializeTypeOf, type TransferOptions } from "./_client.ts";
import { downloadArgs, SEND_FILE_SERVICE_NAME, SIZE_META } from "./_wire.ts";
import { TransferIncompleteError } from "./errors.ts";
import type { TransferResult } from "./send_file.ts";

/** Read buffer of a download, bytes. */
const CHUNK = 256 * 1024;

/**
 * Downloads `requestFileName` from the `_filetransfer` service (Go: `XClient.DownloadFile(ctx,
 * requestFileName, saveTo, meta)`): calls `DownloadFile` through `caller` (an XClient made for
 * `_filetransfer`), dials the address in the reply, writes the 32-byte token and reads the
 * file's bytes until the server closes.
 *
 * `saveTo` is a path or a `WritableStream` (Go: an `io.Writer`). A path is written through a
 * hidden `.name.<random>.part` file beside it, which takes the name only when the download
 * completed (and is removed otherwise: nothing half-written is left); a stream is aborted on
 * failure (what it took stays with it). Writes wait for the stream (backpressure) and the file
 * is never held whole.
 *
 * A Deno server tells the file's size: fewer or more bytes reject with
 * {@linkcode TransferIncompleteError} (`confirmed` is true on success). A Go server does not,
 * so there, as in Go, the end of the connection is the end of the file.
 *
 * @throws {StreamError} subclasses: {@linkcode FileNotFoundError} and
 * {@linkcode FileNameNotAllowedError} (a Deno server refused the name),
 * {@linkcode TransferIncompleteError}, {@linkcode DataConnectionError}, {@linkcode TokenError},
 * {@linkcode DataTimeoutError}, {@linkcode StreamAbortedError}, {@linkcode DiskFullError} (our
 * disk); the call's own errors (`ServiceError`...) as the XClient throws them.
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
 * import { downloadFile } from "@rpcx/core/stream";
 * const xclient = new XClient("_filetransfer", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery("tcp@127.0.0.1:8972"));
 * try {
 *   const r = await downloadFile(xclient, "abc.txt", "abc.txt", { meta: { foo: "bar" } });
 *   console.log("received", r.bytes);
 * } catch (e) {
 *   console.log("failed:", (e as Error).message);
 * }
 * await xclient.close();
 * ```
 */
export async function downloadFile(
  caller: DataCaller,
  requestFileName: string,
  saveTo: string | WritableStream<Uint8Array>,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const { conn, replyMetadata, release } = await openData(
    caller,
    SEND_FILE_SERVICE_NAME,
    "DownloadFile",
    downloadArgs(serializeTypeOf(options), requestFileName, options.meta),
    options,
  );
  const told = replyMetadata[SIZE_META];
  const expected = told !== undefined && /^\d+$/.test(told) ? Number(told) : undefined;
  const part = typeof saveTo === "string" ? partPath(saveTo) : undefined;
  let file: WriteFile | undefined;
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let received = 0;
  try {
    if (part) file = await createNew(part);
    else writer = (saveTo as WritableStream<Uint8Array>).getWriter();
    // Reads fill the buffer (a server may send small segments) and the file or stream gets
    // large pieces.
    let buf = new Uint8Array(2 * CHUNK);
    let filled = 0;
    const flush = async () => {
      if (file) {
        await file.write(buf.subarray(0, filled));
      } else {
        await writer!.ready;
        // The stream keeps the chunk: the next reads need a buffer of their own.
        writer!.write(buf.subarray(0, filled)).catch(() => {});
        buf = new Uint8Array(2 * CHUNK);
      }
      filled = 0;
    };
    while (true) {
      const n = await conn.read(buf.subarray(filled));
      if (n === null) break;
      received += n;
      filled += n;
      if (expected !== undefined && received > expected) {
        throw new TransferIncompleteError(expected, received);
      }
      if (filled >= CHUNK) await flush();
    }
    if (filled) await flush();
    if (expected !== undefined && received !== expected) {
      throw new TransferIncompleteError(expected, received);
    }
    if (file) {
      await file.close();
      await rename(part!, saveTo as string);
    } else {
      await writer!.close();
    }
    conn.close();
    return { bytes: received, confirmed: expected !== undefined };
  } catch (e) {
    const why = e;
    conn.abort(why);
    if (file) {
      await file.close();
      await removeQuietly(part!);
    }
    await writer?.abort(why).catch(() => {});
    throw why;
  } finally {
    release();
  }
}
