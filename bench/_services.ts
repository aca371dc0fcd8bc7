// The services of the bench servers (bench/e2e_server.ts under Deno, bench/runtime_server.ts under
// Node and Bun): Arith and Bench, as the Go peer serves them. Portable: "@rpcx/core" only.
import type { Server } from "@rpcx/core";
import { Arith } from "../examples/arith.ts";

/** Registers `Arith` and `Bench` (`Echo`: the args back; `Mul`: C = A * B, S echoed). */
export async function registerBenchServices(server: Server): Promise<void> {
  await server.register(new Arith(), "Arith");
  await server.register({
    Echo: (args: unknown) => args,
    // As the Go peer's Bench.Mul (tests/interop/go/bench_xclient.go): C = A * B, S echoed.
    Mul: (args: { A: number; B: number; S?: string }) => ({ C: args.A * args.B, S: args.S ?? "" }),
  }, "Bench");
}
