/**
 * `rpcx set Service server key=value…`: an operator's edit of a server's metadata.
 *
 * @module
 */
import type { Command } from "commander";
import { intFlag, registryOption, withRegistry } from "../common.ts";
import { CliError, ExitCode, usage } from "../errors.ts";
import { applyAssignments, setAndConfirm } from "../registry/registry.ts";

/** Adds `set` to `program`. */
export function setCommand(program: Command): void {
  registryOption(
    program.command("set")
      .description(
        "edit a server's metadata in the registry as rpcx-ui does (Go and Deno clients honour " +
          "it): state=inactive takes it out of selection, state=active puts it back, weight=N, " +
          "group=G; key= (empty) removes a key. Prints the new metadata",
      )
      .argument("<service>", "service path, e.g. Arith")
      .argument("<server>", "server key as listed, e.g. tcp@127.0.0.1:8972; * for all")
      .argument("<key=value...>", "the changes")
      .option(
        "--settle <ms>",
        "read the node again this much later and re-apply the edit if a server's refresh wrote " +
          "the old value back (0: do not check)",
        "1000",
      ),
  ).action(async (service: string, server: string, assignments: string[], opts: {
    registry: string;
    settle: string;
  }) => {
    const settle = intFlag("settle", opts.settle, 0);
    applyAssignments(new URLSearchParams(), assignments); // reject bad text before any write
    await withRegistry(opts, async (r) => {
      if (!r.writable) {
        throw usage(`${r.url}: nothing to write to (mdns, dns and tcp@ are read-only)`);
      }
      const keys = server === "*" ? (await r.list(service)).map((n) => n.key) : [server];
      if (keys.length === 0) {
        throw new CliError(
          `service ${service} has no servers in ${r.url}`,
          ExitCode.Failed,
        );
      }
      for (const key of keys) {
        const meta = await setAndConfirm(r, service, key, assignments, settle);
        console.log(`${service} ${key} ${meta}`);
      }
    });
  });
}
