/**
 * `rpcx list`: services, their servers, metadata and state.
 *
 * @module
 */
import type { Command } from "commander";
import { registryOption, stateOf, toJson, withRegistry } from "../common.ts";
import { CliError, ExitCode } from "../errors.ts";
import { type ServerNode, viewOf } from "../registry/registry.ts";

/** Formats nodes as an aligned table (one header line, one line per server). */
export function formatTable(nodes: readonly ServerNode[]): string {
  const rows = [["SERVICE", "SERVER", "STATE", "WEIGHT", "GROUP", "METADATA"]];
  for (const n of nodes) {
    const v = viewOf(n);
    rows.push([
      n.service,
      n.key,
      v.state,
      v.weight ?? "-",
      v.groups.join(",") || "-",
      n.metadata || "-",
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  "))
    .join("\n");
}

/** Adds `list` to `program`. */
export function listCommand(program: Command): void {
  registryOption(
    program.command("list")
      .description("list services, their servers, metadata and state")
      .argument("[service]", "only this service")
      .option("--json", "one JSON array of {service, key, metadata, state}"),
  ).action(async (service: string | undefined, opts: { registry: string; json?: boolean }) => {
    let where = opts.registry;
    const nodes = await withRegistry(opts, (r) => {
      where = r.url; // without its secrets
      return r.list(service);
    });
    if (opts.json) {
      console.log(toJson(nodes.map((n) => ({ ...n, state: stateOf(n) }))));
    } else if (nodes.length > 0) {
      console.log(formatTable(nodes));
    }
    if (nodes.length === 0) {
      const what = service ? `service ${service} has no servers` : "no services";
      if (service) throw new CliError(`${what} in ${where}`, ExitCode.Failed);
      console.error(`rpcx: ${what} in ${where}`);
    }
    // Servers named directly (tcp@…) are probed: when none answered, nothing listed is
    // reachable, which is exit 3 ("registry or server unreachable"), the listing still printed.
    const probed = nodes.filter((n) => n.service === "*");
    if (probed.length > 0 && probed.length === nodes.length) {
      const down = probed.filter((n) => stateOf(n) === "down");
      if (down.length === probed.length) {
        throw new CliError(
          `${down.length === 1 ? "the server is" : `all ${down.length} servers are`} unreachable (${
            down.map((n) => n.key).join(", ")
          })`,
          ExitCode.Unreachable,
        );
      }
    }
  });
}
