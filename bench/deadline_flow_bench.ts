// Cost of deadlines that flow (issue 29), under `deno bench -A bench/deadline_flow_bench.ts`: a
// Client calling an in-process Server, 100 calls in flight per iteration — without a timeout (the
// server runs the method directly), with one (the server runs it in the call's AsyncLocalStorage
// scope), and a method that calls a second server itself, with and without the caller's
// deadline passed on (`parent: null`). In-process, so the scope's share of a call is larger than
// over TCP: an upper bound.
import { Client, Server } from "@rpcx/core";

const args = { ID: 123456789, Name: "benchmark", Data: "x".repeat(16) };

const back = new Server();
await back.register({ Echo: (a: unknown) => a }, "Back");
await back.serve("inprocess", "flow-back");
const inner = new Client("inprocess@flow-back");

const front = new Server();
await front.register({
  Echo: (a: unknown) => a,
  Relay: (a: unknown) => inner.call("Back", "Echo", a),
  RelayDetached: (a: unknown) => inner.call("Back", "Echo", a, { parent: null }),
}, "Front");
await front.serve("inprocess", "flow-front");
const client = new Client("inprocess@flow-front");
await client.call("Front", "Relay", args, { timeout: 10_000 });

function bench(name: string, method: string, timeout: number | undefined, baseline = false) {
  Deno.bench({
    name,
    group: method === "Echo" ? "one hop" : "two hops",
    baseline,
    n: 2000,
    warmup: 200,
    async fn() {
      const calls = [];
      for (let i = 0; i < 100; i++) calls.push(client.call("Front", method, args, { timeout }));
      await Promise.all(calls);
    },
  });
}

bench("100 calls, no timeout", "Echo", undefined, true);
bench("100 calls, timeout (method in a scope)", "Echo", 10_000);
bench("100 relayed calls, no timeout", "Relay", undefined, true);
bench("100 relayed calls, timeout, deadline passed on", "Relay", 10_000);
bench("100 relayed calls, timeout, parent: null", "RelayDetached", 10_000);
