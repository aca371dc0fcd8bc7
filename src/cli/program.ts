/**
 * The `rpcx` program: its commands, and the mapping of every failure to one line on stderr
 * and an exit code.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { benchCommand } from "./commands/bench.ts";
import { callCommand } from "./commands/call.ts";
import { genCommand } from "./commands/gen.ts";
import { listCommand } from "./commands/list.ts";
import { setCommand } from "./commands/set.ts";
import { uiCommand } from "./commands/ui.ts";
import { watchCommand } from "./commands/watch.ts";
import { CliError, ExitCode } from "./errors.ts";

/** The commander program with every command. */
export function rpcxProgram(): Command {
  const program = new Command("rpcx")
    .description(
      "rpcx command line: list, call, watch, edit and benchmark rpcx services (Go or Deno) " +
        "through etcd, ZooKeeper, Consul, Redis, mDNS, DNS or directly",
    )
    .addHelpText(
      "after",
      `
Registries (-r/--registry, or env RPCX_REGISTRY):
  etcd://127.0.0.1:2379/rpcx_test   zookeeper://127.0.0.1:2181/rpcx_test
  consul://127.0.0.1:8500/rpcx_test redis://127.0.0.1:6379/rpcx_test
  mdns://   dns://arith.example:8972?nameserver=10.0.0.2   tcp@127.0.0.1:8972[,tcp@…]
Several endpoints: etcd://h1:2379,h2:2379/base. TLS: etcd+tls://, consul+tls://, rediss://,
with ?ca=ca.pem&cert=client.pem&key=client-key.pem. Credentials: user:password@host (etcd,
ZooKeeper digest, Redis), ?token= (Consul ACL), or --registry-ca/-cert/-key/-user/-password/
-token (env RPCX_REGISTRY_PASSWORD, …) for every URL that leaves them out.

Exit codes: 0 ok, 1 the operation failed, 2 bad usage, 3 registry or server unreachable.

Examples:
  rpcx list -r etcd://127.0.0.1:2379/rpcx_test
  rpcx call -r tcp@127.0.0.1:8972 Arith.Mul '{"A":10,"B":20}'
  rpcx set -r zookeeper://127.0.0.1:2181/rpcx_test Arith tcp@127.0.0.1:8972 state=inactive
  rpcx ui -r consul://127.0.0.1:8500/rpcx_test --addr 127.0.0.1:8080`,
    )
    .exitOverride()
    // commander's usage errors in the same one-line `rpcx: …` form as every other error
    .configureOutput({
      outputError: (text, write) =>
        write(`rpcx: ${text.trim().replace(/^error: /, "")} (add --help for usage)\n`),
    });
  for (
    const add of [listCommand, callCommand, watchCommand, setCommand, benchCommand, uiCommand]
  ) add(program);
  genCommand(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/**
 * Runs `rpcx` with `args` (without the program name); resolves with the exit code: 0 ok,
 * 1 failed, 2 usage, 3 unreachable. Errors are printed as `rpcx: <message>` on stderr.
 *
 * @example
 * ```ts
 * import { runRpcx } from "@rpcx/core/cli";
 * const code = await runRpcx(["list", "-r", "etcd://127.0.0.1:2379/rpcx_test"]);
 * console.log(code); // 0: listed
 * ```
 */
export async function runRpcx(args: string[]): Promise<number> {
  try {
    await rpcxProgram().parseAsync(args, { from: "user" });
    return ExitCode.Ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are exits with code 0; everything else is a usage error already printed
      return e.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    if (e instanceof CliError) {
      console.error(`rpcx: ${e.message}`);
      return e.exitCode;
    }
    console.error(`rpcx: ${(e as Error)?.stack ?? e}`);
    return ExitCode.Failed;
  }
}
