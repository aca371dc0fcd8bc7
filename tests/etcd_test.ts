// etcd v3 registry against a real etcd (tests/support/etcd_server.ts): Go rpcx-etcd's layout,
// leases, re-registration after lease loss, registry outages, and XClient end to end.
import assert from "node:assert/strict";
import type { Etcd3 } from "etcd3";
import { SelectMode, type XClient } from "@rpcx/core";
import { EtcdDiscovery, EtcdRegisterPlugin } from "@rpcx/core/etcd";
import { type EtcdServer, withEtcd } from "./support/etcd_server.ts";
import {
  GO_ARITH_WEIGHT_5,
  type GoRegistry,
  needGoPeer,
  startGoServer,
} from "./support/go_peer.ts";
import {
  DISCOVERY_RETRY,
  discoveryFollowsChanges,
  discoveryOutageThenWipe,
  discoveryStartsDuringOutage,
  exampleServerKilled,
  exampleServerSignalled,
  goAndDenoCallEachOther,
  joinThenGracefulShutdown,
  operatorMarksInactive,
  type OutageFixture,
  type RegistryFixture,
  restartedUnderCalls,
  serveCountedArith,
  type ServedArith,
  START_CONTEXT,
  weightsAndGroups,
  xclientOf,
} from "./support/registry_scenarios.ts";
import { delay, freePort, waitFor } from "./support/env.ts";

const ctx = START_CONTEXT;

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

async function serveArith(
  etcd: EtcdServer,
  metadata = "",
  extra: Partial<ConstructorParameters<typeof EtcdRegisterPlugin>[0]> = {},
): Promise<ServedArith<EtcdRegisterPlugin>> {
  return await serveCountedArith(plugin(etcd, extra), metadata);
}

function discovery(etcd: EtcdServer, base = "/rpcx_test", service = "Arith"): EtcdDiscovery {
  return new EtcdDiscovery(base, service, [etcd.endpoint], DISCOVERY_RETRY);
}

Deno.test({
  name: "etcd plugin: Go rpcx-etcd layout, values, one lease with TTL updateInterval+expired",
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

Deno.test({
  name:
    "etcd plugin: refresh re-creates a deleted node with its metadata and keeps an operator's edit",
  fn: () =>
    withEtcd(async (etcd, raw) => {
      const p = plugin(etcd);
      await p.start(ctx);
      await p.register("Arith", null, "weight=3");
      const node = "/rpcx_test/Arith/tcp@127.0.0.1:8972";
      await raw.delete().key(node);
      await waitFor("node re-created", async () =>
        (await raw.get(node).string()) === "weight=3", 3000);
      // an operator's write (no lease) is kept by the refresh, and the lease re-attached
      await raw.put(node).value("weight=3&state=inactive");
      assert.equal(await leaseOf(raw, node), "0");
      await waitFor("lease re-attached", async () =>
        (await leaseOf(raw, node)) === p.leaseId, 3000);
      assert.equal(await raw.get(node).string(), "weight=3&state=inactive");
      await p.stop();
    }),
});

Deno.test({
  name: "etcd plugin: lease revoked by an operator → new lease, every key re-put by itself",
  fn: () =>
    withEtcd(async (etcd, raw) => {
      // TTL 6 s: keep-alive every 2 s notices the loss before the first refresh (6 s)
      const p = plugin(etcd, { updateInterval: 6000, expired: 0 });
      await p.start(ctx);
      await p.register("Arith", null, "weight=1");
      const before = p.leaseId!;
      await raw.leaseClient.leaseRevoke({ ID: before });
      await waitFor("keys back under a new lease", async () => {
        const all = await dump(raw, "/rpcx_test");
        return Object.keys(all).length === 3 && p.leaseId !== before &&
          (await leaseOf(raw, "/rpcx_test/Arith/tcp@127.0.0.1:8972")) === p.leaseId;
      }, 4000);
      assert.equal(await grantedTtl(raw, p.leaseId!), 6);
      await p.stop();
    }),
});

Deno.test({
  name: "etcd plugin: etcd restarted with its data wiped → everything re-created",
  fn: () =>
    withEtcd(async (etcd, raw) => {
      const p = plugin(etcd);
      await p.start(ctx);
      await p.register("Arith", null, "weight=1");
      await etcd.restart({ wipe: true });
      await waitFor("registration back after wipe", async () => {
        const all = await dump(raw, "/rpcx_test");
        return all["/rpcx_test/Arith/tcp@127.0.0.1:8972"] === "weight=1" &&
          all["/rpcx_test"] === "rpcx_path" && all["/rpcx_test/Arith"] === "Arith";
      }, 8000);
      assert.equal(await leaseOf(raw, "/rpcx_test/Arith/tcp@127.0.0.1:8972"), p.leaseId);
      await p.stop();
    }),
});

Deno.test({
  name: "etcd plugin: outage longer than the lease → registers again by itself; outage events",
  fn: () =>
    withEtcd(async (etcd, raw) => {
      const p = plugin(etcd, { updateInterval: 500, expired: 500 }); // TTL 1 s
      const events: string[] = [];
      p.addEventListener("outage", () => events.push("outage"));
      p.addEventListener("recovered", () => events.push("recovered"));
      await p.start(ctx);
      await p.register("Arith", null, "weight=1");
      const before = p.leaseId!;
      await etcd.halt();
      await delay(3000); // > 2 × TTL: the client gives the lease up
      await etcd.resume();
      await waitFor("re-registered under a new lease", async () => {
        return p.leaseId !== before &&
          (await leaseOf(raw, "/rpcx_test/Arith/tcp@127.0.0.1:8972")) === p.leaseId;
      }, 8000);
      assert.equal(await raw.get("/rpcx_test/Arith/tcp@127.0.0.1:8972").string(), "weight=1");
      assert.ok(events.includes("outage"), events.join());
      await waitFor("recovered event", () => events.at(-1) === "recovered", 3000);
      // the old lease is left to expire; our keys are not on it any more
      await delay(2500);
      assert.equal(await raw.get("/rpcx_test/Arith/tcp@127.0.0.1:8972").string(), "weight=1");
      await p.stop();
    }),
});

Deno.test("etcd discovery: lists basePath/Service/ (dir and sibling services skipped), follows changes, clone", () =>
  withEtcd((etcd, raw) =>
    discoveryFollowsChanges({
      plugin: () => plugin(etcd),
      discovery: () => discovery(etcd),
      prefix: "/rpcx_test/Arith/",
      putNode: async (key, value) => void await raw.put(`/rpcx_test/Arith/${key}`).value(value),
      deleteNode: async (key) => void await raw.delete().key(`/rpcx_test/Arith/${key}`),
    })
  ));

function outageFixture(etcd: EtcdServer, raw: Etcd3): OutageFixture {
  return {
    discovery: () => discovery(etcd),
    putNode: async (key, value) => void await raw.put(`/rpcx_test/Arith/${key}`).value(value),
    putUnrelated: async (value) => void await raw.put("/other").value(value),
    halt: () => etcd.halt(),
    resume: (wiped) => etcd.resume({ wipe: wiped }),
  };
}

Deno.test("etcd discovery: outage keeps the last list, emits outage/recovered, re-lists after a wipe", () =>
  withEtcd((etcd, raw) => discoveryOutageThenWipe(outageFixture(etcd, raw))));

Deno.test("etcd discovery: etcd down at start → outage events, ready once etcd is up", () =>
  withEtcd((etcd, raw) => discoveryStartsDuringOutage(outageFixture(etcd, raw))));

Deno.test("etcd: several endpoints, the first one dead: plugin and discovery use the live one", () =>
  withEtcd(async (etcd, raw) => {
    const servers = [`127.0.0.1:${freePort()}`, etcd.endpoint];
    const p = new EtcdRegisterPlugin({ servers, basePath: "/rpcx_test", updateInterval: 1000 });
    const d = new EtcdDiscovery("/rpcx_test", "Arith", servers, { retryInitialMs: 100 });
    try {
      await p.start(ctx);
      await p.register("Arith", null, "weight=1");
      await waitFor("registered server seen", () => d.getServices().length === 1, 3000);
      assert.deepEqual(d.getServices(), [{ key: "tcp@127.0.0.1:8972", value: "weight=1" }]);
      await raw.put("/rpcx_test/Arith/tcp@127.0.0.1:9004").value("");
      await waitFor("change seen", () => d.getServices().length === 2, 3000);
      await delay(2500); // more than the 2 s lease: keep-alive works through the live endpoint
      assert.equal(await raw.get("/rpcx_test/Arith/tcp@127.0.0.1:8972").string(), "weight=1");
    } finally {
      await d.close();
      await p.stop();
    }
  }));

function xclient(d: EtcdDiscovery, mode: SelectMode = SelectMode.RoundRobin, group?: string) {
  return xclientOf(d, mode, group);
}

function fixture(etcd: EtcdServer): RegistryFixture {
  return {
    // lease TTL 1 + 9 = 10 s when long-lived
    serve: (metadata, o) => serveArith(etcd, metadata, o?.longLived ? { expired: 9000 } : {}),
    discovery: () => discovery(etcd),
  };
}

Deno.test("etcd + XClient: register → discover → call; a second server joins; graceful shutdown removes it at once", () =>
  withEtcd((etcd) => joinThenGracefulShutdown(fixture(etcd))));

Deno.test("etcd + XClient: examples/etcd server (child) and client; SIGKILL → dropped within the lease bound", () =>
  withEtcd((etcd) =>
    exampleServerKilled(fixture(etcd), {
      example: "etcd",
      registryFlags: ["--registry", etcd.endpoint],
      serverFlags: ["--update", "500"], // lease TTL 1 s
      boundMs: 1000 + 1500, // etcd checks expiry every 500 ms
    })
  ));

Deno.test("etcd + XClient: state=inactive written by an operator → not selected; selected again when flipped back", () =>
  withEtcd((etcd, raw) =>
    operatorMarksInactive({
      ...fixture(etcd),
      writeNode: async (key, value) => void await raw.put(`/rpcx_test/Arith/${key}`).value(value),
      readNode: async (key) => (await raw.get(`/rpcx_test/Arith/${key}`).string()) ?? undefined,
    })
  ));

Deno.test("etcd + XClient: etcd restarted mid-test → registration returns, no user call fails", () =>
  withEtcd((etcd, raw) =>
    restartedUnderCalls({ serve: (m) => serveArith(etcd, m), discovery: () => discovery(etcd) }, {
      name: "etcd",
      restart: () => etcd.restart({ downMs: 1500 }),
      registeredAgain: (a) =>
        waitFor("registration back", async () => {
          const node = `/rpcx_test/Arith/${a.key}`;
          return (await raw.get(node).string()) === "" &&
            (await leaseOf(raw, node)) === a.plugin.leaseId;
        }, 8000),
    })
  ));

Deno.test("etcd + XClient: weight and group metadata reach the selectors", () =>
  withEtcd((etcd) => weightsAndGroups(fixture(etcd))));

Deno.test({
  name:
    "etcd + Go rpcx-etcd: same keys, values and lease sharing; Go and Deno find and call each other",
  async fn() {
    if (!needGoPeer()) return;
    await withEtcd(async (etcd, raw) => {
      const reg: GoRegistry = { registry: "etcd", registryAddr: etcd.endpoint, base: "/rpcx_test" };
      const go = await startGoServer(reg, GO_ARITH_WEIGHT_5);
      let local: Awaited<ReturnType<typeof serveArith>> | undefined;
      let d: EtcdDiscovery | undefined;
      let x: XClient | undefined;
      try {
        const goKey = go.key;
        const goNode = `/rpcx_test/Arith/${goKey}`;
        await waitFor("Go node", async () => (await raw.get(goNode).string()) !== null, 5000);
        // What Go wrote: keys as given (leading slash kept), dirs and node on one lease.
        const goLayout = await dump(raw, "");
        assert.deepEqual(goLayout, {
          "/rpcx_test": "rpcx_path",
          "/rpcx_test/Arith": "Arith",
          [goNode]: "weight=5",
        });
        const goLease = await leaseOf(raw, goNode);
        assert.equal(await leaseOf(raw, "/rpcx_test"), goLease);
        assert.equal(await leaseOf(raw, "/rpcx_test/Arith"), goLease);

        local = await serveArith(etcd, "weight=5");
        const node = `/rpcx_test/Arith/${local.key}`;
        const both = await dump(raw, "");
        assert.deepEqual(both, { ...goLayout, [node]: "weight=5" });
        // our put of the shared dirs moves them to our lease, as a second Go server would
        assert.equal(await leaseOf(raw, "/rpcx_test"), local.plugin.leaseId);
        assert.equal(await leaseOf(raw, node), local.plugin.leaseId);
        assert.equal(await leaseOf(raw, goNode), goLease);

        d = discovery(etcd);
        x = xclient(d);
        await d.ready();
        await goAndDenoCallEachOther(reg, x, goKey, local);

        await go.kill("SIGTERM");
        await waitFor(
          "Go server gone after its shutdown",
          () => !x!.discovered.includes(goKey),
          3000,
        );
        assert.deepEqual(x.servers, [local.key]);
      } finally {
        await go.stop();
        await x?.close();
        await d?.close();
        await local?.server.close();
      }
    });
  },
});

Deno.test("etcd + examples/etcd server: SIGTERM and SIGINT unregister at once (not at lease expiry)", () =>
  withEtcd((etcd, raw) =>
    exampleServerSignalled({
      example: "etcd",
      // updateInterval 10 s: the lease lives 20 s, so a removal within a second is the
      // server's own unregister.
      serverFlags: (base) => ["--registry", etcd.endpoint, "--base", base, "--update", "10000"],
      nodeListed: async (base, key) => (await raw.get(`${base}/Arith/${key}`).string()) !== null,
      discovery: (base) => discovery(etcd, base),
      lifetimeMs: 20_000,
      boundMs: 2000,
    })
  ));
