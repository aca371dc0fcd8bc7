// In-process calls and pushes against the same over TCP on 127.0.0.1, under `deno bench -A
// bench/inprocess_bench.ts`: one call at a time, 100 calls in flight, and 100 server pushes to a
// client. In-process is the baseline of each group, so the ratios say what a socket adds.
import { type CallContext, Client, type ConnInfo, Server } from "@rpcx/core";

const args = { ID: 123456789, Name: "benchmark", Data: "x".repeat(16) };
const PUSHES = 100;

interface Pair {
  client: Client;
  server: Server;
  conn: ConnInfo;
  /** Resolves once `n` more pushes arrived at the client. */
  pushes(n: number): Promise<void>;
}

async function pair(network: "inprocess" | "tcp"): Promise<Pair> {
  const server = new Server();
  let conn: ConnInfo | undefined;
  await server.registerFunction("Bench", function Echo(a: unknown, ctx: CallContext) {
    conn = ctx.conn;
    return a;
  });
  const bound = await server.serve(network, network === "tcp" ? "127.0.0.1:0" : "bench-inprocess");
  let got = 0, want = 0, wake: (() => void) | undefined;
  const client = new Client(`${network}@${bound}`, {
    onServerMessage: () => {
      if (++got === want) wake?.();
    },
  });
  await client.call("Bench", "Echo", args);
  return {
    client,
    server,
    conn: conn!,
    pushes: (n) => {
      want = got + n;
      return new Promise((r) => (wake = r));
    },
  };
}

const pairs = { inprocess: await pair("inprocess"), tcp: await pair("tcp") };

for (const [network, p] of Object.entries(pairs)) {
  const baseline = network === "inprocess";
  Deno.bench(
    { name: `${network}: one call`, group: "one call", baseline, n: 5000, warmup: 500 },
    async () => {
      await p.client.call("Bench", "Echo", args);
    },
  );
  Deno.bench({
    name: `${network}: 100 calls in flight`,
    group: "100 in flight",
    baseline,
    n: 500,
    warmup: 50,
  }, async () => {
    const calls = [];
    for (let i = 0; i < 100; i++) calls.push(p.client.call("Bench", "Echo", args));
    await Promise.all(calls);
  });
  Deno.bench({
    name: `${network}: ${PUSHES} pushes`,
    group: "pushes",
    baseline,
    n: 500,
    warmup: 50,
  }, async () => {
    const arrived = p.pushes(PUSHES);
    const sent = [];
    for (let i = 0; i < PUSHES; i++) {
      sent.push(p.server.sendMessage(p.conn, "Bench", "Tick", {}, "tick"));
    }
    await Promise.all(sent);
    await arrived;
  });
}

// Closed once every bench ran (deno bench runs them after this module's top level).
globalThis.addEventListener("unload", () => {
  for (const p of Object.values(pairs)) {
    void p.client.close();
    void p.server.close();
  }
});
