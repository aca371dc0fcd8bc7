/**
 * @rpcx/core/stream — Go rpcx's file transfer and stream service, byte for byte, and typed
 * message streams on top.
 *
 * Server: {@linkcode FileTransfer} + {@linkcode enableFileTransfer} (Go: `NewFileTransfer`,
 * `EnableFileTransfer`), with {@linkcode directoryHandlers} as a safe default;
 * {@linkcode StreamService} + {@linkcode enableStreamService} (Go: `NewStreamService`,
 * `EnableStreamService`). Client, through an XClient made for the service (its selection and
 * fail mode apply): {@linkcode sendFile}, {@linkcode downloadFile}, {@linkcode stream} (Go:
 * `XClient.SendFile`, `DownloadFile`, `Stream`). Beyond Go: {@linkcode openMessageStream} and
 * {@linkcode messageStreamHandler}.
 *
 * @example
 * ```ts
 * import { FailMode, Peer2PeerDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
 * import {
 *   directoryHandlers,
 *   downloadFile,
 *   enableFileTransfer,
 *   FileTransfer,
 *   sendFile,
 * } from "@rpcx/core/stream";
 *
 * const root = await Deno.makeTempDir();
 * const server = new Server();
 * const ft = new FileTransfer({ ...directoryHandlers(root) });
 * await enableFileTransfer(server, ft);
 * const addr = await server.serve("tcp", "127.0.0.1:0");
 *
 * const src = await Deno.makeTempFile();
 * await Deno.writeTextFile(src, "hello");
 * const xclient = new XClient("_filetransfer", FailMode.Failtry, SelectMode.RandomSelect,
 *   new Peer2PeerDiscovery(`tcp@${addr}`));
 * await sendFile(xclient, src, { meta: { foo: "bar" } });
 * const out = new Uint8Array(await new Response(
 *   new ReadableStream({
 *     async start(c) {
 *       await downloadFile(xclient, src.split("/").pop()!, new WritableStream({ write: (b) => c.enqueue(b) }));
 *       c.close();
 *     },
 *   }),
 * ).arrayBuffer());
 * console.log(new TextDecoder().decode(out)); // "hello"
 * await xclient.close();
 * await server.close();
 * await ft.close();
 * ```
 *
 * @module
 */
export type { DataConn } from "./_conn.ts";
export {
  type DataConnInfo,
  type DataHandler,
  DataService,
  type DataServiceOptions,
} from "./_data_server.ts";
export type { AnyServiceCaller, DataCaller, ServiceCaller, TransferOptions } from "./_client.ts";
export {
  type DownloadFileArgs,
  type FileTransferArgs,
  type Meta,
  SEND_FILE_SERVICE_NAME,
  STREAM_SERVICE_NAME,
  type StreamServiceArgs,
} from "./_wire.ts";
export {
  ArgsTooLargeError,
  DataConnectionError,
  DataTimeoutError,
  DiskFullError,
  FileNameNotAllowedError,
  FileNotFoundError,
  FileTooLargeError,
  MessageFrameError,
  MessageTooLargeError,
  RemoteStreamError,
  StreamAbortedError,
  StreamError,
  type StreamErrorOptions,
  StreamNotAcceptedError,
  TokenError,
  type TokenRefusal,
  TransferFailedError,
  TransferIncompleteError,
} from "./errors.ts";
export {
  type DownloadFileHandler,
  enableFileTransfer,
  FileTransfer,
  type FileTransferHandler,
  type FileTransferOptions,
} from "./file_transfer.ts";
export { directoryHandlers, type DirectoryOptions } from "./directory.ts";
export {
  enableStreamService,
  type StreamAcceptor,
  type StreamHandler,
  StreamService,
  type StreamServiceOptions,
} from "./stream_service.ts";
export { sendFile, type SendFileOptions, type TransferResult } from "./send_file.ts";
export { downloadFile } from "./download_file.ts";
export { stream } from "./stream.ts";
export { MessageStream, type MessageStreamOptions } from "./message_stream.ts";
export { openMessageStream } from "./open_message_stream.ts";
export { type MessageHandler, messageStreamHandler } from "./message_stream_handler.ts";
