// etcd v3 registry against a real etcd (tests/support/etcd_server.ts): Go rpcx-etcd's layout,
// leases, re-registration after lease loss, registry outages, and XClient end to end.
import assert from "node:assert/strict";
import { Etcd3 } from "etcd3";
import {
  type DiscoveryOutageEvent,
  FailMode,
  type RegistryStartContext,
  SelectMode,
  Server,
  XClient,
} from "../mod.ts";
import { EtcdDiscovery, EtcdRegisterPlugin } from "../src/discovery/etcd.ts";
import { type EtcdServer, startEtcd } from "./support/etcd_server.ts";
import { delay, freePort, REPO_ROOT, waitFor } from "./support/env.ts";

// The etcd3 npm client (gRPC) keeps internal timers and sockets alive briefly after close.
const opts = { sanitizeOps: false, sanitizeResources: false };

const ctx: RegistryStartContext = {
  serviceAddress: "tcp@127.0.0.1:8972",
  metrics: () => ({
    startedAt: Date.now() - 10_000,
    connectionsAccepted: 5,
    activeConnections: 1,
    calls: 100,
    inFlight: 0,
  }),
};

/** Runs `fn` with a fresh etcd and a raw etcd3 client (the "operator"); stops both after. */
async function withEtcd(fn: (etcd: EtcdServer, raw: Etcd3) => Promise<void>): Promise<void> {
  const etcd = await startEtcd();
  if (!etcd) return;
  const raw = new Etcd3({ hosts: etcd.endpoint });
  try {
    await fn(etcd, raw);
  } finally {
    raw.close();
    await etcd.stop();
  }
}

async function dump(raw: Etcd3, prefix: string): Promise<Record<string, string>> {
  return await raw.getAll().prefix(prefix).strings();
}

async function leaseOf(raw: Etcd3, key: string): Promise<string | undefined> {
  const r = await raw.get(key).exec();
  return r.kvs[0]?.lease;
}

async function grantedTtl(raw: Etcd3, id: string): Promise<number> {
  const r = await raw.leaseClient.leaseTimeToLive({ ID: id });
  return Number(r.grantedTTL);
}

function plugin(
  etcd: EtcdServer,
  extra: Partial<ConstructorParameters<typeof EtcdRegisterPlugin>[0]> = {},
) {
  return new EtcdRegisterPlugin({
    servers: [etcd.endpoint],
    basePath: "/rpcx_test",
    updateInterval: 1000,
    expired: 2000,
    ...extra,
  });
}

class Counted {
  hits = 0;
  Mul(args: { A: number; B: number }): { C: number } {
    this.hits++;
    return { C: args.A * args.B };
  }
}

async function serveArith(
  etcd: EtcdServer,
  metadata = "",
  extra: Partial<ConstructorParameters<typeof EtcdRegisterPlugin>[0]> = {},
): Promise<{ server: Server; service: Counted; key: string; plugin: EtcdRegisterPlugin }> {
  const server = new Server();
  const p = plugin(etcd, extra);
  server.use(p);
  const service = new Counted();
  await server.register(service, "Arith", metadata);
  const addr = await server.serve("tcp", "127.0.0.1:0");
  return { server, service, key: `tcp@${addr}`, plugin: p };
}

function discovery(etcd: EtcdServer, base = "/rpcx_test", service = "Arith"): EtcdDiscovery {
  return new EtcdDiscovery(base, service, [etcd.endpoint], {
    retryInitialMs: 100,
    retryMaxMs: 500,
  });
}

Deno.test({
  name: "etcd plugin: Go rpcx-etcd layout, values, one lease with TTL updateInterval+expired",
  ...opts,
  fn: () =>
    withEtcd(async (_etcd, raw) => {
      const p = plugin(_etcd);
      await p.unregister("Nothing"); // before start, no services: no error
      await p.start(ctx);
      await p.unregister("Nothing"); // started, no services: no error
      await p.register("Arith", null, "weight=10&group=a");
      await p.register("Echo", null, "");
      assert.deepEqual(await dump(raw, ""), {
        "/rpcx_test": "rpcx_path",
        "/rpcx_test/Arith": "Arith",
        "/rpcx_test/Arith/tcp@127.0.0.1:8972": "weight=10&group=a",
        "/rpcx_test/Echo": "Echo",
        "/rpcx_test/Echo/tcp@127.0.0.1:8972": "",
      });
      // Go's store/etcdv3 Put attaches every key (IsDir ignored) to the store's one lease.
      const id = p.leaseId!;
      assert.ok(id && id !== "0");
      for (const key of Object.keys(await dump(raw, ""))) {
        assert.equal(await leaseOf(raw, key), id, key);
      }
      assert.equal(await grantedTtl(raw, id), 3);

      await p.unregister("Echo");
      assert.deepEqual(Object.keys(await dump(raw, "/rpcx_test/Echo")), ["/rpcx_test/Echo"]);
      await p.stop();
      // stop deletes the nodes and revokes the lease: nothing of ours is left
      assert.deepEqual(await dump(raw, ""), {});
      await p.stop(); // twice is fine
    }),
});

Deno.test({
  name: "etcd plugin: base path without a leading slash is kept as given; metrics written",
  ...opts,
  fn: () =>
    withEtcd(async (etcd, raw) => {
      const p = plugin(etcd, {
        basePath: "rpcx_test/",
        metrics: true,
        updateInterval: 300,
        expired: 300,
      });
      await p.start(ctx);
      await p.register("Arith", null, "weight=2");
      await waitFor("metrics in the node", async () => {
        const v = await raw.get("rpcx_test/Arith/tcp@127.0.0.1:8972").string();
        return v !== null && v.includes("calls=") && v.includes("connections=");
      }, 5000);
      const v = new URLSearchParams(
        (await raw.get("rpcx_test/Arith/tcp@127.0.0.1:8972").string())!,
      );
      assert.equal(v.get("weight"), "2");
      assert.ok(Math.abs(Number(v.get("calls")) - 10) < 0.5, `about 10 calls/s: ${v}`);
      assert.deepEqual(Object.keys(await dump(raw, "")).sort(), [
        "rpcx_test",
        "rpcx_test/Arith",
        "rpcx_test/Arith/tcp@127.0.0.1:8972",
      ]);
      assert.equal(await grantedTtl(raw, p.leaseId!), 1, "ceil((300 + 300) / 1000)");
      await p.stop();
    }),
});
