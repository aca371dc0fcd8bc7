// rpcx-examples tcpcopy/server: Arith on --addr (printing "C= <C>" per call) with Go's
// TeeConnPlugin: every byte each client sends is also written to stdout, as it arrives
// (Go: serverplugin.NewTeeConnPlugin(os.Stdout)).
//   deno run -A examples/tcpcopy/server.ts --addr localhost:8972
import { Server } from "@rpcx/core";
import { TeeConnPlugin } from "@rpcx/core/plugins/tee";
import { flag, PrintingArith } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server();
server.use(new TeeConnPlugin(Deno.stdout));
await server.register(new PrintingArith(), "Arith");
server.shutdownOnSignals();
console.log(`listening on tcp@${await server.serve("tcp", addr)}`);
