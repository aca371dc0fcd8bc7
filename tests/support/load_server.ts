// Our server in its own process for load tests (tests/server_fairness_test.ts): Arith and
// Bench.Echo, as the Go peer's load generators call them, on tcp 127.0.0.1:0 with HTTP invoke and
// JSON-RPC on (the default). `--node-sockets true|false` passes ListenOptions.nodeSockets (left out:
// the default). Prints `LISTENING host:port`; SIGTERM or SIGKILL ends it.
import { Server } from "@rpcx/core";
import { Arith } from "../../examples/arith.ts";

const at = Deno.args.indexOf("--node-sockets");
const nodeSockets = at < 0 ? undefined : Deno.args[at + 1] === "true";
const server = new Server();
await server.register(new Arith(), "Arith");
await server.register({ Echo: (args: unknown) => args }, "Bench");
console.log(`LISTENING ${await server.serve("tcp", "127.0.0.1:0", { nodeSockets })}`);
