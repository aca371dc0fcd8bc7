// A Go rpcx client (Failover) finds two Deno servers through a real registry (etcd, ZooKeeper,
// Consul); one Deno server is killed with SIGKILL mid-run (no unregister), and every Go call
// must still succeed.
import assert from "node:assert/strict";
import { startConsul } from "./support/consul_agent.ts";
import { startEtcd } from "./support/etcd_server.ts";
import { startZooKeeper, zooKeeperMissing } from "./support/zookeeper_server.ts";
import { bounded, freePort, needs, waitFor } from "./support/env.ts";
import { startExampleServer } from "./support/examples.ts";
import { GO_PEER, type GoRegistry, needGoPeer, runGoClient } from "./support/go_peer.ts";

const PEER = GO_PEER;

async function goFailover(registry: string, registryAddr: string, base: string, kill: () => void) {
  const go = new Deno.Command(PEER!, {
    args: [
      "client",
      "--registry",
      registry,
      "--registry-addr",
      registryAddr,
      "--base",
      base,
      "--failmode",
      "failover",
      "--count",
      "60",
      "--interval",
      "40ms",
      "--wait-servers",
      "10s",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(go.stderr).text();
  // Kill once the Go client is really calling: after 5 successes, mid-run.
  let out = "";
  let killedAfter = -1;
  const reader = go.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    await bounded(
      (async () => {
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          out += value;
          const ok = out.match(/^10 \* 20 = 200$/gm)?.length ?? 0;
          if (killedAfter < 0 && ok >= 5) {
            killedAfter = ok;
            kill();
          }
        }
      })(),
      60_000,
      "the Go client's run",
    );
  } finally {
    try {
      go.kill("SIGKILL");
    } catch {
      // exited
    }
    await reader.cancel().catch(() => {});
  }
  const status = await go.status;
  return { code: status.code, out, err: await stderr, killedAfter };
}

for (const registry of ["etcd", "zookeeper", "consul"] as const) {
  Deno.test({
    name: `Go Failover client via ${registry}: a SIGKILLed Deno server is moved off, no call fails`,
    async fn() {
      if (!needGoPeer()) return;
      if (registry === "zookeeper" && !needs("ZooKeeper", zooKeeperMissing())) return;
      const reg = registry === "etcd"
        ? await startEtcd()
        : registry === "consul"
        ? await startConsul()
        : await startZooKeeper();
      if (!reg) return;
      const endpoint = "endpoint" in reg ? reg.endpoint : reg.connectString;
      const base = `/rpcx_failover_${registry}`;
      const [p1, p2] = [freePort(), freePort()];
      const flags = (port: number) => [
        "--addr",
        `127.0.0.1:${port}`,
        "--registry",
        endpoint,
        "--base",
        base,
        "--update",
        "1000",
      ];
      const a = startExampleServer(registry, flags(p1));
      const b = startExampleServer(registry, flags(p2));
      try {
        await Promise.all([a.ready, b.ready]);
        // Both are registered before the Go client starts.
        const reg: GoRegistry = { registry, registryAddr: endpoint, base };
        const list = async () =>
          (await runGoClient(reg, ["--list-servers", "--wait-servers", "5s"])).out;
        await waitFor(
          "Go discovery to list both Deno servers",
          async () => {
            const text = await list();
            return text.includes(`:${p1}`) && text.includes(`:${p2}`);
          },
          15_000,
          200,
        );
        const r = await goFailover(registry, endpoint, base, () => a.child.kill("SIGKILL"));
        assert.ok(r.killedAfter >= 5 && r.killedAfter < 60, `killed after ${r.killedAfter} calls`);
        assert.equal(r.code, 0, `${r.out}\n${r.err}`);
        assert.equal(r.out.match(/^10 \* 20 = 200$/gm)?.length, 60, r.out);
        assert.doesNotMatch(r.out, /ERROR/);
      } finally {
        for (const s of [a, b]) await s.stop();
        "dispose" in reg ? await reg.dispose() : await reg.stop();
      }
    },
  });
}
