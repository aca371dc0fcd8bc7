// Cost of plugins per call, under `deno bench` (`deno bench -A bench/plugins_bench.ts`): one
// Client calling Bench.Echo on an in-process Server (no socket, so the plugins' share of a call
// is larger than over TCP: an upper bound), 100 calls in flight per iteration, with no plugin,
// a plugin with every hook doing nothing (the hook points' own cost), tracing, metrics, both.
// The plugin sets are bench/_plugins.ts's, the same as `bench/e2e.ts --plugins`.
import { Client, Server } from "@rpcx/core";
import { benchClientPlugins, benchServerPlugins } from "./_plugins.ts";
import { benchArgs } from "./_services.ts";

const args = benchArgs();

let n = 0;
for (const spec of ["none", "noop", "tracing", "metrics", "tracing,metrics"]) {
  const name = `bench-${spec.replace(",", "-")}-${n++}`;
  const server = new Server({ plugins: benchServerPlugins(spec) });
  await server.register({ Echo: (a: unknown) => a }, "Bench");
  await server.serve("inprocess", name);
  const client = new Client(`inprocess@${name}`, { plugins: benchClientPlugins(spec) });
  await client.call("Bench", "Echo", args);
  Deno.bench({
    name: `100 calls, plugins: ${spec}`,
    group: "plugins",
    baseline: spec === "none",
    n: 2000,
    warmup: 200,
    async fn() {
      const calls = [];
      for (let i = 0; i < 100; i++) calls.push(client.call("Bench", "Echo", args));
      await Promise.all(calls);
    },
  });
}
