// Go rpcx's bidirectional example server: serves Arith on --addr (default localhost:8972) and,
// once a second, pushes "abcde" to every client that has called it (Go: Server.SendMessage).
//   deno run -A examples/bidirectional/server.ts --addr localhost:8972
import { type CallContext, type ConnInfo, Server } from "@rpcx/core";
import { type Args, Arith, flag, type Reply } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const intervalMs = Number(flag(Deno.args, "interval", "1000"));

const server = new Server();
const callers = new Set<ConnInfo>();

/** Arith that remembers the connection of each caller. */
class PushingArith extends Arith {
  override Mul(args: Args, ctx: CallContext): Reply {
    callers.add(ctx.conn);
    return super.Mul(args, ctx);
  }
}

await server.register(new PushingArith(), "Arith");
server.shutdownOnSignals();
console.log(`listening on ${await server.serve("tcp", addr)}`);

setInterval(() => {
  for (const conn of callers) {
    server.sendMessage(conn, "test_service_path", "test_service_method", {}, "abcde").catch((e) => {
      console.log(`failed to send message to ${conn.remoteAddress}: ${e.message}`);
      callers.delete(conn);
    });
  }
}, intervalMs);
