/**
 * In-process calls and pushes of two checkouts of @rpcx/core side by side in one process, in
 * interleaved rounds: the CPU time per call of each (user + system, which other jobs on the
 * machine disturb less than wall time) and the median of the per-round ratios after/before.
 *
 *     git archive <commit> | tar -x -C /tmp/before     # the checkout to compare against
 *     deno run -A bench/inprocess_ab.ts --before /tmp/before [--rounds 60]
 *
 * Rows: `seq` one call at a time, `par` 100 calls in flight, `push` 100 pushes to a client.
 * Bounded: `rounds` × 3 rows × (500 to 1000 operations) per checkout.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import { resolve } from "node:path";

const { values } = parseArgs({
  options: { before: { type: "string" }, rounds: { type: "string", default: "60" } },
});
if (!values.before) throw new TypeError("--before <checkout of @rpcx/core> is required");
const args = { ID: 123456789, Name: "benchmark", Data: "x".repeat(16) };

interface Side {
  seq(n: number): Promise<void>;
  par(n: number): Promise<void>;
  push(n: number): Promise<void>;
  close(): Promise<void>;
}

// deno-lint-ignore no-explicit-any
async function side(core: any, name: string): Promise<Side> {
  const server = new core.Server();
  let conn: unknown;
  await server.registerFunction("Bench", function Echo(a: unknown, ctx: { conn: unknown }) {
    conn = ctx.conn;
    return a;
  });
  await server.serve("inprocess", name);
  let got = 0, want = 0, wake: (() => void) | undefined;
  const client = new core.Client(`inprocess@${name}`, {
    onServerMessage: () => {
      if (++got === want) wake?.();
    },
  });
  await client.call("Bench", "Echo", args);
  return {
    async seq(n) {
      for (let i = 0; i < n; i++) await client.call("Bench", "Echo", args);
    },
    async par(n) {
      for (let j = 0; j < n / 100; j++) {
        const calls = [];
        for (let i = 0; i < 100; i++) calls.push(client.call("Bench", "Echo", args));
        await Promise.all(calls);
      }
    },
    async push(n) {
      for (let j = 0; j < n / 100; j++) {
        want = got + 100;
        const arrived = new Promise<void>((r) => (wake = r));
        const sent = [];
        for (let i = 0; i < 100; i++) sent.push(server.sendMessage(conn, "B", "T", {}, "tick"));
        await Promise.all(sent);
        await arrived;
      }
    },
    async close() {
      await client.close();
      await server.close();
    },
  };
}

const sides: Record<string, Side> = {
  before: await side(await import(`file://${resolve(values.before, "mod.ts")}`), "ab-before"),
  after: await side(await import("../mod.ts"), "ab-after"),
};
const rounds = Number(values.rounds);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log("| row  | before µs CPU/op | after µs CPU/op | after/before (median of rounds) |");
console.log("| ---- | ---------------: | --------------: | ------------------------------: |");
for (const row of ["seq", "par", "push"] as const) {
  const n = row === "seq" ? 500 : 1000;
  const t: Record<string, number[]> = { before: [], after: [] };
  for (const s of Object.values(sides)) await s[row](n); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const [label, s] of Object.entries(sides)) {
      const c0 = cpuUsage();
      await s[row](n);
      const c = cpuUsage(c0);
      t[label].push((c.user + c.system) / n);
    }
  }
  const ratio = median(t.after.map((a, i) => a / t.before[i]));
  console.log(
    `| ${row.padEnd(4)} | ${median(t.before).toFixed(2).padStart(16)} | ${
      median(t.after).toFixed(2).padStart(15)
    } | ${ratio.toFixed(2).padStart(31)} |`,
  );
}
for (const s of Object.values(sides)) await s.close();
