// The server program of tests/server_restart_test.ts under Deno (as rpcx-examples
// graceful_restart/server, plus a way to ask for the restart): `deno run -A restart_server.ts
// --addr A`. The same program as Node and Bun run it (runtime_peer.js restart-serve,
// tests/support/runtime_peer/restart.ts, which says what it prints): Arith.Mul on --addr with
// reusePort, `Admin.Restart` calls `server.restart()`, and the process that starts is this
// program again (same command line), serving the same address.
import { restartServe } from "./runtime_peer/restart.ts";

await restartServe(Deno.args);
