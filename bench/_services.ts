// The services of the bench servers (bench/e2e_server.ts under Deno, bench/runtime_server.ts under
// Node and Bun): Arith and Bench, as the Go peer serves them, and Bench.Echo's argument. Portable:
// "@rpcx/core" only.
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

/**
 * Bench.Echo's argument: ~100 bytes in msgpack with `dataBytes` 16, the Go peer's BenchArgs
 * struct (tests/interop/go/services.go).
 */
export function benchArgs(dataBytes = 16): Record<string, unknown> {
  return {
    ID: 123456789,
    Seq: 1,
    Name: "benchmark",
    Email: "bench@example.com",
    Score: 98.5,
    Active: true,
    Tags: ["alpha", "beta"],
    Data: "x".repeat(dataBytes),
  };
}
