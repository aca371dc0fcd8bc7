/**
 * The file transfer service (Go: `server.NewFileTransfer` and `Server.EnableFileTransfer`).
 *
 * @module
 */
import { within } from "../_internal/async.ts";
import type { CallContext } from "../server/context.ts";
import type { Server } from "../server/server.ts";
import type { Conn, DataConn } from "./_conn.ts";
import {
  type DataConnInfo,
  type DataHandler,
  DataService,
  type DataServiceOptions,
  enableDataService,
} from "./_data_server.ts";
import {
  type DownloadFileArgs,
  type FileTransferArgs,
  readDownloadArgs,
  readUploadArgs,
  SEND_FILE_SERVICE_NAME,
  SIZE_META,
  statusFrame,
} from "./_wire.ts";
import { TransferFailedError } from "./errors.ts";

/**
 * Handles an upload (Go: `FileTransferHandler`): read the file's bytes from `conn` until the
 * caller ends them (`read` returns null). Unlike Go, do not close `conn`: it is closed once the
 * returned promise settles; throw (or reject) to fail the upload, and a Deno caller gets the
 * error, typed. {@linkcode directoryHandlers} provides one that stores into a directory.
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
 * import {
 *   enableFileTransfer,
 *   FileTransfer,
 *   type FileTransferHandler,
 *   sendFile,
 * } from "@rpcx/core/stream";
 * const count: FileTransferHandler = async (conn, args) => {
 *   let n = 0;
 *   for await (const chunk of conn.readable) n += chunk.byteLength;
 *   console.log(`${args.fileName}: ${n} of ${args.fileSize} bytes`); // hello.txt: 5 of 5 bytes
 * };
 * const server = new Server();
 * const ft = new FileTransfer({ handler: count });
 * await enableFileTransfer(server, ft);
 * const xclient = new XClient("_filetransfer", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery(`tcp@${await server.serve("tcp", "127.0.0.1:0")}`));
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/hello.txt`, "hello");
 * await sendFile(xclient, `${dir}/hello.txt`);
 * await xclient.close();
 * await server.close();
 * await ft.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export type FileTransferHandler = DataHandler<FileTransferArgs>;

/**
 * Handles a download (Go: `DownloadFileHandler`): write the file's bytes to `conn`. The
 * connection is closed once the returned promise settles (the caller reads until then).
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
 * import {
 *   type DownloadFileHandler,
 *   downloadFile,
 *   enableFileTransfer,
 *   FileTransfer,
 * } from "@rpcx/core/stream";
 * // Every name downloads as "hello".
 * const hello: DownloadFileHandler = async (conn) => {
 *   await conn.write(new TextEncoder().encode("hello"));
 * };
 * const server = new Server();
 * const ft = new FileTransfer({ downloadHandler: hello });
 * await enableFileTransfer(server, ft);
 * const xclient = new XClient("_filetransfer", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery(`tcp@${await server.serve("tcp", "127.0.0.1:0")}`));
 * const dir = await Deno.makeTempDir();
 * await downloadFile(xclient, "any.txt", `${dir}/any.txt`);
 * console.log(await Deno.readTextFile(`${dir}/any.txt`)); // hello
 * await xclient.close();
 * await server.close();
 * await ft.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export type DownloadFileHandler = DataHandler<DownloadFileArgs>;

/**
 * Options of {@linkcode FileTransfer}: Go's `NewFileTransfer(addr, handler,
 * downloadFileHandler, waitNum)` and more.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import {
 *   directoryHandlers,
 *   enableFileTransfer,
 *   FileTransfer,
 *   type FileTransferOptions,
 * } from "@rpcx/core/stream";
 * const dir = await Deno.makeTempDir();
 * // Uploads stored in dir, downloads served from it, data connections on a port of their own.
 * const options: FileTransferOptions = { addr: "127.0.0.1:0", ...directoryHandlers(dir) };
 * const ft = new FileTransfer(options);
 * await enableFileTransfer(new Server(), ft);
 * console.log(ft.address); // 127.0.0.1:<port>
 * await ft.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export interface FileTransferOptions extends DataServiceOptions {
  /** Uploads (Go: `handler`). None: `TransferFile` calls are refused (Go issues a token). */
  handler?: FileTransferHandler;
  /** Downloads (Go: `downloadFileHandler`). None: `DownloadFile` calls are refused. */
  downloadHandler?: DownloadFileHandler;
  /**
   * Runs in the `TransferFile` call, before a token is issued: throw to refuse the upload (the
   * caller gets the error; e.g. a bad name or a size over a bound).
   */
  checkUpload?: (args: FileTransferArgs, ctx: CallContext) => void | Promise<void>;
  /**
   * Runs in the `DownloadFile` call, before a token is issued: throw to refuse (no such file, a
   * name outside what is served); return the file's size in bytes to let Deno callers check
   * they got all of it.
   */
  checkDownload?: (
    args: DownloadFileArgs,
    ctx: CallContext,
  ) => number | void | Promise<number | void>;
}

/** How long a failed upload's remaining bytes are read and dropped, so its status gets through. */
const DRAIN_MS = 2_000;

async function drain(conn: Conn): Promise<void> {
  const end = Date.now() + DRAIN_MS;
  const buf = new Uint8Array(64 * 1024);
  try {
    // Each read within what is left of the bound (undefined: out of time; null: the end).
    while (Date.now() < end && await within(conn.read(buf), end - Date.now()) != null) {
      // dropped
    }
  } catch {
    // broken: nothing more to drain
  }
}

/**
 * Go's `server.FileTransfer`: a listener for data connections and the `_filetransfer` service
 * (`TransferFile`, `DownloadFile`) that hands out one-time 32-byte tokens for it. Register it
 * with {@linkcode enableFileTransfer}. Go clients (`xclient.SendFile`, `xclient.DownloadFile`)
 * and {@linkcode sendFile}/{@linkcode downloadFile} use it.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { directoryHandlers, enableFileTransfer, FileTransfer } from "@rpcx/core/stream";
 * const dir = await Deno.makeTempDir();
 * const server = new Server();
 * const ft = new FileTransfer({ addr: "127.0.0.1:0", ...directoryHandlers(dir) });
 * await enableFileTransfer(server, ft);
 * await server.serve("tcp", "127.0.0.1:0");
 * console.log(ft.address); // 127.0.0.1:<port>
 * await server.close();
 * await ft.close();
 * ```
 */
export class FileTransfer
  extends DataService<{ upload: FileTransferArgs } | { download: DownloadFileArgs }> {
  readonly #options: FileTransferOptions;
  /** The service registered by {@linkcode enableFileTransfer} (Go: `FileTransferService`). */
  readonly service: {
    TransferFile(args: unknown, ctx: CallContext): Promise<unknown>;
    DownloadFile(args: unknown, ctx: CallContext): Promise<unknown>;
  };

  /** Creates it; it listens on `start()` (or the first call). RangeError on bad bounds. */
  constructor(options: FileTransferOptions = {}) {
    super(options);
    this.#options = options;
    this.service = {
      TransferFile: (args, ctx) => this.#transferFile(args, ctx),
      DownloadFile: (args, ctx) => this.#downloadFile(args, ctx),
    };
  }

  async #transferFile(raw: unknown, ctx: CallContext): Promise<unknown> {
    const args = readUploadArgs(raw);
    await this.admit(ctx, args, () => {
      if (!this.#options.handler) throw new TransferFailedError("rpcx: uploads are not served");
      return this.#options.checkUpload?.(args, ctx);
    });
    return await this.reply({ upload: args }, ctx);
  }

  async #downloadFile(raw: unknown, ctx: CallContext): Promise<unknown> {
    const args = readDownloadArgs(raw);
    const size = await this.admit(ctx, args, () => {
      if (!this.#options.downloadHandler) {
        throw new TransferFailedError("rpcx: downloads are not served");
      }
      return this.#options.checkDownload?.(args, ctx);
    });
    const reply = await this.reply({ download: args }, ctx);
    if (typeof size === "number") ctx.replyMetadata[SIZE_META] = String(size);
    return reply;
  }

  /** Runs the upload or download handler of a connection (internal). */
  protected async dispatch(
    dataConn: DataConn,
    job: { upload: FileTransferArgs } | { download: DownloadFileArgs },
    info: DataConnInfo,
  ): Promise<void> {
    const conn = dataConn as Conn; // the data server's connections are Conns
    if ("download" in job) return await this.#options.downloadHandler!(conn, job.download, info);
    if (info.status) {
      // A Deno caller sends exactly the announced size and waits for the status (no half-close
      // to end an upload with): the handler's reads end there.
      if (job.upload.fileSize >= 0) conn.limitReads(job.upload.fileSize);
      else conn.chunkedReads(true); // of unknown size: in chunks, with an end
      conn.beforeClose = () => conn.write(statusFrame());
    }
    try {
      await this.#options.handler!(conn, job.upload, info);
    } catch (e) {
      conn.beforeClose = undefined;
      if (info.status && !conn.closed) {
        // Tell the caller, and drop what it still sends until it stops, so the status is read
        // before the socket closes.
        await conn.write(statusFrame(e)).catch(() => {});
        conn.limitReads(Infinity);
        conn.chunkedReads(false);
        await drain(conn);
      }
      throw e;
    }
  }
}

/**
 * Starts `fileTransfer` and registers its service on `server` under `serviceName` (default
 * `_filetransfer`, Go's `share.SendFileServiceName`). Go: `Server.EnableFileTransfer`. Close
 * the file transfer yourself after the server (as in Go, it is not tied to the server's life).
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { enableFileTransfer, FileTransfer } from "@rpcx/core/stream";
 * const server = new Server();
 * const ft = new FileTransfer({ handler: async (conn) => { for await (const _ of conn.readable); } });
 * await enableFileTransfer(server, ft);
 * console.log(server.services); // ["_filetransfer"]
 * await ft.close();
 * ```
 */
export async function enableFileTransfer(
  server: Server,
  fileTransfer: FileTransfer,
  serviceName: string = SEND_FILE_SERVICE_NAME,
): Promise<void> {
  await enableDataService(server, fileTransfer, serviceName, SEND_FILE_SERVICE_NAME);
}
