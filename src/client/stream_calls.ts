/**
 * Go's `XClient.SendFile`, `DownloadFile` and `Stream` as methods: the base class of `XClient`,
 * `Client` and `OneClient`, over the functions of `@rpcx/core/stream`.
 *
 * @module
 */
import { sendFile, type SendFileOptions, type TransferResult } from "../stream/send_file.ts";
import { downloadFile } from "../stream/download_file.ts";
import { stream } from "../stream/stream.ts";
import type { DataCaller, TransferOptions } from "../stream/_client.ts";
import type { DataConn } from "../stream/_conn.ts";

/**
 * File transfer and streams on a client (Go's `XClient.SendFile`, `DownloadFile`, `Stream`):
 * `sendFile`, `downloadFile` and `stream` of `@rpcx/core/stream` called with this client, in
 * its serialize type (the functions alone default to MsgPack) unless the options give one. An
 * `XClient` calls its own service (make it for `_filetransfer` or `_streamservice`, as Go's
 * examples do); a `Client` or `OneClient` calls `options.servicePath`, by default
 * `_filetransfer` (files) or `_streamservice` (streams). Each method rejects as its function
 * does (`StreamError` subclasses, the call's own errors).
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
 * const files = new XClient("_filetransfer", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery("tcp@127.0.0.1:8972"));
 * try {
 *   const r = await files.sendFile("abc.txt", { rateLimit: 1 << 20, meta: { foo: "bar" } });
 *   console.log("sent", r.bytes); // Go: xclient.SendFile(ctx, "abc.txt", 1<<20, meta)
 * } catch (e) {
 *   console.log("failed:", (e as Error).message);
 * }
 * await files.close();
 * ```
 */
export abstract class StreamCalls {
  /** The client's serialize type (undefined: the functions' default, MsgPack). */
  readonly #serializeType: number | undefined;

  /** `serializeType`: the client's, used unless a call's options give one. */
  constructor(serializeType: number | undefined) {
    this.#serializeType = serializeType;
  }

  /**
   * Uploads `source` (a path, or a `ReadableStream` with `options.fileName`), at most
   * `options.rateLimit` bytes/s (Go's `SendFile(ctx, fileName, rateInBytesPerSecond, meta)`);
   * see `sendFile` of `@rpcx/core/stream`.
   */
  sendFile(
    source: string | ReadableStream<Uint8Array>,
    options: SendFileOptions = {},
  ): Promise<TransferResult> {
    return sendFile(this.#caller(), source, this.#options(options));
  }

  /**
   * Downloads `requestFileName` to `saveTo`, a path or a `WritableStream` (Go's
   * `DownloadFile(ctx, requestFileName, saveTo, meta)`); see `downloadFile` of
   * `@rpcx/core/stream`.
   */
  downloadFile(
    requestFileName: string,
    saveTo: string | WritableStream<Uint8Array>,
    options: TransferOptions = {},
  ): Promise<TransferResult> {
    return downloadFile(this.#caller(), requestFileName, saveTo, this.#options(options));
  }

  /**
   * Opens a byte stream, `meta` for the server's acceptor and handler (Go's `Stream(ctx, meta)`,
   * which returns a `net.Conn`); see `stream` of `@rpcx/core/stream`.
   */
  stream(meta?: Record<string, string>, options: TransferOptions = {}): Promise<DataConn> {
    return stream(this.#caller(), meta, this.#options(options));
  }

  /** This client, as the functions take it (an XClient by its `servicePath`). */
  #caller(): DataCaller {
    return this as unknown as DataCaller;
  }

  #options<O extends TransferOptions>(options: O): O {
    return { ...options, serializeType: options.serializeType ?? this.#serializeType };
  }
}
