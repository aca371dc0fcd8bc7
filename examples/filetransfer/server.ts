// Go rpcx-examples filetransfer/server and file_download/server in one: the `_filetransfer`
// service on --addr, data connections on --transfer-addr; uploads are stored into --dir and
// downloads served from it (nothing outside it). Go's filetransfer/client and
// file_download/client programs work against it unchanged.
//   deno run -A examples/filetransfer/server.ts --addr localhost:8972 --transfer-addr localhost:8973 --dir .
import { Server } from "@rpcx/core";
import { directoryHandlers, enableFileTransfer, FileTransfer } from "@rpcx/core/stream";
import { flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const transferAddr = flag(Deno.args, "transfer-addr", "localhost:8973");
const dir = flag(Deno.args, "dir", ".");

const server = new Server();
const files = directoryHandlers(dir);
const ft = new FileTransfer({
  addr: transferAddr,
  waitNum: 1000,
  ...files,
  // Log as Go's example handlers do, then store.
  handler: async (conn, args, info) => {
    console.log(`received file name: ${args.fileName}, size: ${args.fileSize}, meta:`, args.meta);
    await files.handler!(conn, args, info);
    console.log("saved", args.fileName);
  },
  downloadHandler: async (conn, args, info) => {
    console.log(`received file name: ${args.fileName}, meta:`, args.meta);
    await files.downloadHandler!(conn, args, info);
    console.log("send ok");
  },
  onError: (e, remote) => console.log(`transfer from ${remote} failed: ${e}`),
});
await enableFileTransfer(server, ft);
server.shutdownOnSignals();
console.log(`listening on tcp@${await server.serve("tcp", addr)}, data on ${ft.address}`);
