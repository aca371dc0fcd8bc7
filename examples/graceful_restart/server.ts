// rpcx-examples graceful_restart/server: Arith on --addr with reusePort. On SIGHUP it restarts
// gracefully (Go's Server.Restart): a new process (this command line again) takes over the
// port, this one drains its calls and exits; no call is lost. SIGINT/SIGTERM shut it down.
//   deno run -A examples/graceful_restart/server.ts --addr localhost:8972
//   kill -HUP <pid>
import { Server } from "@rpcx/core";
import { Arith, flag } from "../arith.ts";

const addr = flag(Deno.args, "addr", "localhost:8972");
const server = new Server();
await server.register(new Arith(), "Arith");
const stopSignals = server.shutdownOnSignals();
Deno.addSignalListener("SIGHUP", async () => {
  try {
    const next = await server.restart({ timeout: 10_000 });
    console.log(`restarted: pid ${Deno.pid} handed over to pid ${next}`);
    stopSignals();
    Deno.exit(0);
  } catch (e) {
    console.log(`restart failed: ${(e as Error).message}`);
  }
});
console.log(
  `listening on tcp@${await server.serve("tcp", addr, { reusePort: true })}, pid ${Deno.pid}`,
);
