// The graceful-restart server program of tests/server_restart_test.ts, one for Deno
// (tests/support/restart_server.ts), Node and Bun (`runtime_peer.js restart-serve --addr A
// [--inherit]`): Arith.Mul on --addr with reusePort (with --inherit without: the listening socket
// is handed over), `Admin.Restart` calls `server.restart()` (the new process is this runtime's own
// command line again), and one stdout line per event, shared with the successor:
//   LISTENING <addr> <pid> | RESTARTING <pid> | SHUTDOWN <pid> | RESTARTED <pid> <new pid> <served>
//   RESTART-FAILED <pid> <message> | SERVED <pid> <served> (on SIGTERM, once shut down)
//   ENV <pid> <RPCX_RESTART_LISTENERS once serving, or none>
import process from "node:process";
import { Server } from "@rpcx/core";
import { flag } from "../../../examples/arith.ts";

/** Serves until restarted or SIGTERM; the process then exits 0. */
export async function restartServe(args: string[]): Promise<void> {
  const addr = flag(args, "addr", "127.0.0.1:0");
  const pid = process.pid;
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
          process.exit(0);
        } catch (e) {
          say(`RESTART-FAILED ${pid} ${(e as Error).message}`);
        }
      }, 0);
      return "restarting";
    },
  }, "Admin");
  process.on("SIGTERM", async () => {
    await server.shutdown({ timeout: 5000 });
    say(`SERVED ${pid} ${served}`);
    process.exit(0);
  });
  // --inherit: without reusePort, so restart hands the listening socket itself over.
  await server.serve("tcp", addr, { reusePort: !args.includes("--inherit") });
  say(`LISTENING ${addr} ${pid}`);
  // What this process's own children would inherit of the restart's handover: nothing.
  say(`ENV ${pid} ${process.env.RPCX_RESTART_LISTENERS ?? "none"}`);
}
