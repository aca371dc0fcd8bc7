/**
 * `rpcx watch`: the registry's changes as they happen.
 *
 * @module
 */
import type { Command } from "commander";
import { runtime } from "../../runtime/mod.ts";
import { intFlag, registryOption, toJson, withRegistry } from "../common.ts";
import { follow, type NodeChange } from "../registry/follow.ts";

const SIGN = { added: "+", removed: "-", changed: "~" } as const;

/** One line of `watch` output: `+ Arith tcp@… weight=5`, `~ … old -> new`, `- …`. */
export function formatChange(c: NodeChange): string {
  const meta = c.type === "changed" ? `${c.previous || "-"} -> ${c.metadata || "-"}` : c.metadata;
  return `${SIGN[c.type]} ${c.service} ${c.key}${meta ? ` ${meta}` : ""}`;
}

/** Adds `watch` to `program`. */
export function watchCommand(program: Command): void {
  registryOption(
    program.command("watch")
      .description(
        "print the servers, then each change as it happens: + added, - removed, ~ metadata " +
          "changed (until Ctrl-C or SIGTERM)",
      )
      .argument("[service]", "only this service")
      .option("-i, --interval <ms>", "poll period", "1000")
      .option("--json", "one JSON object per change: {type, service, key, metadata, previous?}")
      .option("--duration <ms>", "stop after this many ms"),
  ).action(
    async (service: string | undefined, opts: {
      registry: string;
      interval: string;
      json?: boolean;
      duration?: string;
    }) => {
      const interval = intFlag("interval", opts.interval);
      const ac = new AbortController();
      const stop = () => ac.abort();
      const removeSignals = runtime().process.onSignals(["SIGINT", "SIGTERM"], stop);
      const timer = opts.duration === undefined
        ? undefined
        : setTimeout(stop, intFlag("duration", opts.duration));
      try {
        await withRegistry(opts, (r) =>
          follow(r, (_list, changes) => {
            for (const c of changes) console.log(opts.json ? toJson(c) : formatChange(c));
          }, {
            interval,
            service,
            signal: ac.signal,
            onError: (e) => console.error(`rpcx: ${(e as Error).message ?? e}`),
          }));
      } finally {
        clearTimeout(timer);
        removeSignals();
      }
    },
  );
}
