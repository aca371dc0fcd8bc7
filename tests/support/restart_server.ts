// The server program of tests/server_restart_test.ts (as rpcx-examples graceful_restart/server,
// plus a way to ask for the restart): Arith.Mul on --addr with reusePort. `Admin.Restart`
// makes it call `server.restart()`; the process that starts is this program again (same command
// line) and serves the same address. Every process prints to the stdout it shares with its
// successor, one line per event:
//   LISTENING <addr> <pid>
//   RESTARTING <pid>                      (its registerOnRestart function)
//   SHUTDOWN <pid>                        (its registerOnShutdown function)
//   RESTARTED <pid> <new pid> <calls served>   then it exits 0
//   RESTART-FAILED <pid> <message>
//   SERVED <pid> <calls served>           on SIGTERM, once shut down; then it exits 0
//   ENV <pid> <RPCX_RESTART_LISTENERS once serving, or none>
import { Server } from "../../mod.ts";

const addr = Deno.args[Deno.args.indexOf("--addr") + 1];
const pid = Deno.pid;
let served = 0;
const say = (line: string) => console.log(line);

const server = new Server();
server.registerOnRestart(() => say(`RESTARTING ${pid}`));
server.registerOnShutdown(() => say(`SHUTDOWN ${pid}`));
await server.register({
  Mul: (a: { A: number; B: number }) => {
    served++;
    return { C: a.A * a.B };
  },
}, "Arith");
await server.register({
  Restart: () => {
    setTimeout(async () => {
      try {
        const next = await server.restart({ timeout: 10_000 });
        say(`RESTARTED ${pid} ${next} ${served}`);
        Deno.exit(0);
      } catch (e) {
        say(`RESTART-FAILED ${pid} ${(e as Error).message}`);
      }
    }, 0);
    return "restarting";
  },
}, "Admin");
Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown({ timeout: 5000 });
  say(`SERVED ${pid} ${served}`);
  Deno.exit(0);
});
await server.serve("tcp", addr, { reusePort: true });
say(`LISTENING ${addr} ${pid}`);
say(`ENV ${pid} ${Deno.env.get("RPCX_RESTART_LISTENERS") ?? "none"}`);
