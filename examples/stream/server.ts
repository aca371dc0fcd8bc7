// Go rpcx-examples stream/server: the `_streamservice` service on --addr, streams on
// --transfer-addr, each echoed until its caller closes (Go's handler: io.Copy(conn, conn)).
// Callers whose meta says kind=messages get a typed message stream instead: every {text}
// message answered with {text, n}. Go's stream/client program works against it unchanged.
//   deno run -A examples/stream/server.ts --addr localhost:8972 --transfer-addr localhost:8973
import { Server } from "@rpcx/core";
import { enableStreamService, messageStreamHandler, StreamService } from "@rpcx/core/stream";
import { flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const transferAddr = flag(Deno.args, "transfer-addr", "localhost:8973");

/** What a typed stream carries. */
interface Note {
  text: string;
  n?: number;
}
const messages = messageStreamHandler<Note, Note>(async function* (notes) {
  let n = 0;
  for await (const note of notes) yield { text: note.text, n: ++n };
});

const server = new Server();
const ss = new StreamService({
  addr: transferAddr,
  waitNum: 1000,
  handler: async (conn, args, info) => {
    console.log("received args, meta:", args.meta);
    const remote = conn.remoteAddress;
    if (args.meta.kind === "messages") await messages(conn, args, info);
    else await conn.readable.pipeTo(conn.writable); // still copy until the connection is closed
    console.log(`${remote} closed`);
  },
});
await enableStreamService(server, ss);
server.shutdownOnSignals();
console.log(`listening on tcp@${await server.serve("tcp", addr)}, streams on ${ss.address}`);
