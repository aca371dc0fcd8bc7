// rpcx-examples handler/server: Arith.Mul answered by a raw handler (Go's
// s.AddHandler("Arith", "Mul", mul)): it binds the payload in the request's codec and writes
// the reply itself.
//   deno run -A examples/handler/server.ts --addr localhost:8972
import { type HandlerContext, Server } from "@rpcx/core";
import { type Args, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server();
server.addHandler("Arith", "Mul", (ctx: HandlerContext) => {
  const args = ctx.bind<Args>();
  ctx.write({ C: args.A * args.B });
});
server.shutdownOnSignals();
console.log(`listening on tcp@${await server.serve("tcp", addr)}`);
