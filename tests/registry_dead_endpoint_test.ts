// One registry endpoint dead — a host that drops SYNs (tests/support/black_hole.ts), not one
// that refuses — first in the endpoint list, the rest real: a 3-member etcd cluster, one
// ZooKeeper, one Consul agent. Servers must register within a bound, fresh discoveries must see
// a new node within a bound, and a live server's node must never vanish over a window longer
// than its TTL (checked by polling the registry directly, through a client that knows only live
// endpoints). For etcd one cluster member is also SIGKILLed while all this runs.
import assert from "node:assert/strict";
import { Etcd3 } from "etcd3";
import {
  FailMode,
  NoServerAvailableError,
  RegistryError,
  SelectMode,
  Server,
  XClient,
} from "@rpcx/core";
import { openRegistry } from "@rpcx/core/cli";
import { EtcdDiscovery, EtcdError, EtcdRegisterPlugin } from "@rpcx/core/etcd";
import { RedisDiscovery, RedisError } from "@rpcx/core/redis";
import { ZooKeeperDiscovery, ZooKeeperRegisterPlugin } from "@rpcx/core/zookeeper";
import { ConsulDiscovery, ConsulError, ConsulRegisterPlugin } from "@rpcx/core/consul";
import type { ServiceDiscovery } from "../src/registry/discovery.ts";
import { type BlackHole, openBlackHole } from "./support/black_hole.ts";
import { startEtcdCluster } from "./support/etcd_server.ts";
import { startTcpProxy, startZooKeeper, zooKeeperMissing } from "./support/zookeeper_server.ts";
import { startConsul } from "./support/consul_agent.ts";
import { bounded, delay, freePort, needs } from "./support/env.ts";
import { CountedArith } from "./support/registry_scenarios.ts";
import type { ServerPlugin } from "../src/server/plugin.ts";
import { zk as zkModule, ZkSession } from "../src/registry/zookeeper/session.ts";

const zkMode = zkModule.CreateMode;

/** What the scenario needs of one registry. */
interface Registry {
  name: string;
  /** The endpoint list: the black hole first, then the live ones. */
  servers: string[];
  /** Base path of this run. */
  base: string;
  /** The same registry as the command line names it (`etcd://dead,live.../base`). */
  url: string;
  plugin(): ServerPlugin;
  discovery(): ServiceDiscovery;
  /** The service node keys present now (read from the registry directly), e.g. `tcp@…`. */
  nodes(): Promise<string[]>;
  /** Writes a node for `key` directly (a server that is not ours), for discoveries to see. */
  putNode(key: string): Promise<void>;
  /** Something that goes wrong in the middle of the window (etcd: a member is SIGKILLed). */
  midWindow?(): Promise<void>;
  /** How long the plain-registry poll runs; longer than a node's TTL, ms. */
  windowMs: number;
  /**
   * serve() with the dead endpoint first must finish within this, and a fresh discovery must
   * be ready, and list a node written after that, within this too (ms).
   */
  boundMs: number;
}

interface Figures {
  serveMs: number[];
  /** How long each fresh discovery took to list the servers. */
  readyMs: number[];
  /** serve() calls that rejected: after how long and why. */
  serveErrors: string[];
  /** The command line's registry client (`rpcx list`, `rpcx ui`): each list, or its error. */
  cliMs: (number | string)[];
  /**
   * How long after a node was written a fresh discovery listed it; the last figure: how long
   * until every discovery open then (older ones too) listed one written after the failure.
   */
  discoverMs: number[];
  /** Each time a live server's node was missing from the registry. */
  gaps: string[];
}

/** Runs the scenario; returns the figures (asserted by the caller, printed for the report). */
async function scenario(reg: Registry): Promise<Figures> {
  const figures: Figures = {
    serveMs: [],
    readyMs: [],
    serveErrors: [],
    cliMs: [],
    discoverMs: [],
    gaps: [],
  };
  const servers: { server: Server; key: string }[] = [];
  const discoveries: ServiceDiscovery[] = [];
  try {
    // Three servers register, each with its own client (so several random first picks).
    for (let i = 0; i < 3; i++) {
      const server = new Server();
      server.use(reg.plugin());
      await server.register(new CountedArith(), "Arith");
      const t0 = performance.now();
      try {
        const addr = await bounded(server.serve("tcp", "127.0.0.1:0"), 30_000, "serve()");
        figures.serveMs.push(Math.round(performance.now() - t0));
        servers.push({ server, key: `tcp@${addr}` });
      } catch (e) {
        const ms = Math.round(performance.now() - t0);
        figures.serveErrors.push(`after ${ms} ms: ${String(e).split("\n")[0]}`);
        await server.close();
      }
    }
    const expectAll = async (what: string) => {
      const have = new Set(await reg.nodes());
      const missing = servers.filter((s) => !have.has(s.key)).map((s) => s.key);
      if (missing.length > 0) figures.gaps.push(`${what}: ${missing.join(",")} missing`);
    };
    // Fresh discoveries, one after another: each must list a node written once it is ready.
    const freshDiscovery = async (i: number) => {
      const t = performance.now();
      const d = reg.discovery();
      discoveries.push(d);
      await bounded(d.ready(), 30_000, `discovery ${i} ready`);
      figures.readyMs.push(Math.round(performance.now() - t));
      const key = `tcp@127.0.0.1:${40_000 + i}`;
      const t0 = performance.now();
      await reg.putNode(key);
      const end = t0 + 30_000;
      while (!d.getServices().some((p) => p.key === key) && performance.now() < end) {
        await delay(20);
      }
      figures.discoverMs.push(Math.round(performance.now() - t0));
    };
    for (let i = 0; i < 4; i++) await freshDiscovery(i);
    // The command line's own registry client: fresh ones list every server.
    for (let i = 0; i < 3; i++) {
      const admin = await openRegistry(reg.url);
      const t0 = performance.now();
      try {
        const nodes = await bounded(admin.list("Arith"), 30_000, "rpcx list");
        const ms = Math.round(performance.now() - t0);
        const keys = new Set(nodes.map((n) => n.key));
        const missing = servers.filter((s) => !keys.has(s.key));
        figures.cliMs.push(missing.length ? `${ms} ms, missing ${missing.length}` : ms);
      } catch (e) {
        const ms = Math.round(performance.now() - t0);
        figures.cliMs.push(`after ${ms} ms: ${String(e).split("\n")[0]}`);
      } finally {
        await admin.close();
      }
    }
    // The window: every 100 ms every server's node must be there.
    const start = performance.now();
    let midDone = !reg.midWindow;
    let n = 4;
    while (performance.now() - start < reg.windowMs) {
      await expectAll(`${Math.round(performance.now() - start)} ms into the window`);
      if (!midDone && performance.now() - start > reg.windowMs / 3) {
        midDone = true;
        await reg.midWindow!();
        // after the failure, fresh discoveries still work, and so do the older ones
        await freshDiscovery(n++);
        await freshDiscovery(n++);
        const key = `tcp@127.0.0.1:${40_000 + n++}`;
        const t0 = performance.now();
        await reg.putNode(key);
        const end = t0 + 30_000;
        const seen = () => discoveries.every((d) => d.getServices().some((p) => p.key === key));
        while (!seen() && performance.now() < end) await delay(20);
        figures.discoverMs.push(Math.round(performance.now() - t0));
      }
      await delay(100);
    }
    await expectAll("end of the window");
    return figures;
  } finally {
    await Promise.all(discoveries.map((d) => d.close()));
    await Promise.all(servers.map((s) => s.server.close()));
  }
}

function check(reg: Registry, f: Figures): void {
  console.log(
    `${reg.name}: serve() ms ${JSON.stringify(f.serveMs)}` +
      (f.serveErrors.length ? `, rejected ${JSON.stringify(f.serveErrors)}` : "") +
      `; fresh discovery ready after ms ${JSON.stringify(f.readyMs)}, sees a new node ` +
      `after ms ${JSON.stringify(f.discoverMs)}; rpcx list ms ${
        JSON.stringify(f.cliMs)
      }; node vanished ${f.gaps.length} times` +
      (f.gaps.length ? ` (first: ${f.gaps[0]})` : ""),
  );
  assert.deepEqual(f.serveErrors, [], "serve() rejected");
  const bound = reg.boundMs;
  for (const ms of f.serveMs) assert.ok(ms < bound, `serve() took ${ms} ms`);
  for (const ms of f.readyMs) {
    assert.ok(ms < bound, `a discovery was ready after ${ms} ms`);
  }
  for (const ms of f.discoverMs) {
    assert.ok(ms < bound, `a discovery saw a new node after ${ms} ms`);
  }
  for (const ms of f.cliMs) {
    assert.ok(typeof ms === "number" && ms < bound, `the command line's list: ${ms}`);
  }
  assert.deepEqual(f.gaps, [], "a live server's node vanished from the registry");
}

async function withHole<T>(fn: (hole: BlackHole) => Promise<T>): Promise<T> {
  const hole = await openBlackHole();
  try {
    return await fn(hole);
  } finally {
    hole.close();
  }
}

Deno.test({
  name: "etcd: black-hole endpoint first + 3-member cluster (one SIGKILLed midway): " +
    "serve() and fresh discoveries within bounds, no live node ever vanishes",
  async fn() {
    const cluster = await startEtcdCluster(3);
    if (!cluster) return;
    const observer = new Etcd3({ hosts: cluster[2].endpoint });
    try {
      await withHole(async (hole) => {
        const base = "/rpcx_dead_endpoint";
        const servers = [hole.endpoint, ...cluster.map((m) => m.endpoint)];
        const reg: Registry = {
          name: "etcd",
          servers,
          base,
          url: `etcd://${servers.join(",")}${base}`,
          // TTL 4 s (updateInterval 1 s + expired 3 s), keep-alive every 1.3 s
          plugin: () =>
            new EtcdRegisterPlugin({
              servers,
              basePath: base,
              updateInterval: 1000,
              expired: 3000,
            }),
          discovery: () =>
            new EtcdDiscovery(base, "Arith", servers, { retryInitialMs: 100, retryMaxMs: 500 }),
          nodes: async () =>
            Object.keys(await observer.getAll().prefix(`${base}/Arith/`).strings()).map((k) =>
              k.slice(`${base}/Arith/`.length)
            ),
          putNode: async (key) => {
            await observer.put(`${base}/Arith/${key}`).value("");
          },
          midWindow: () => cluster[0].kill(),
          windowMs: 12_000,
          boundMs: 3000,
        };
        check(reg, await scenario(reg));
      });
    } finally {
      observer.close();
      await Promise.all(cluster.map((m) => m.stop()));
    }
  },
});

Deno.test({
  name: "zookeeper: black-hole endpoint first + one real server (connections cut midway): " +
    "serve() and fresh discoveries within bounds, no live node ever vanishes",
  async fn() {
    if (!needs("ZooKeeper", zooKeeperMissing())) return;
    const zk = await startZooKeeper({ tickTime: 200 });
    if (!zk) return;
    // The clients reach ZooKeeper through a proxy that drops every connection midway.
    const proxy = startTcpProxy(zk.port);
    const base = "/rpcx_dead_endpoint";
    const observer = new ZkSession([zk.connectString], {
      sessionTimeout: 10_000,
      spinDelay: 100,
      opTimeout: 5000,
    }, {});
    try {
      await withHole(async (hole) => {
        const servers = [hole.endpoint, proxy.connectString];
        const reg: Registry = {
          name: "zookeeper",
          servers,
          base,
          url: `zookeeper://${servers.join(",")}${base}`,
          // session (the nodes' life) 4 s
          plugin: () =>
            new ZooKeeperRegisterPlugin({
              servers,
              basePath: base,
              updateInterval: 1000,
              sessionTimeout: 4000,
            }),
          discovery: () =>
            new ZooKeeperDiscovery(base, "Arith", servers, {
              sessionTimeout: 4000,
              retryInitialMs: 100,
              retryMaxMs: 500,
            }),
          nodes: () => observer.getChildren(`${base}/Arith`).catch(() => []),
          putNode: (key) => observer.create(`${base}/Arith/${key}`, "", zkMode.PERSISTENT),
          midWindow: async () => {
            await proxy.cut();
            proxy.restore();
          },
          windowMs: 12_000,
          // Go's go-zookeeper dials each server for at most 1 s, one after the other
          boundMs: 1000,
        };
        check(reg, await scenario(reg));
      });
    } finally {
      await observer.close();
      await proxy.close();
      await zk.dispose();
    }
  },
});

Deno.test({
  name: "consul: black-hole endpoint first + one real agent (connections cut midway): " +
    "serve() and fresh discoveries within bounds, no live node ever vanishes",
  async fn() {
    const agent = await startConsul();
    if (!agent) return;
    // The clients reach Consul through a proxy that drops every connection midway.
    const proxy = startTcpProxy(agent.port);
    const base = "rpcx_dead_endpoint";
    try {
      await withHole(async (hole) => {
        const servers = [hole.endpoint, proxy.connectString];
        const reg: Registry = {
          name: "consul",
          servers,
          base,
          url: `consul://${servers.join(",")}/${base}`,
          // session TTL (1 s + 3 s) / 2 = 2 s, renewed every second
          plugin: () =>
            new ConsulRegisterPlugin({
              servers,
              basePath: base,
              updateInterval: 1000,
              expired: 3000,
            }),
          discovery: () =>
            new ConsulDiscovery(base, "Arith", servers, { retryInitialMs: 100, retryMaxMs: 500 }),
          nodes: async () => {
            const res = await agent.api(`/v1/kv/${base}/Arith/?keys=true`);
            if (res.status === 404) {
              await res.body?.cancel();
              return [];
            }
            const keys = await res.json() as string[];
            return keys.map((k) => k.slice(`${base}/Arith/`.length));
          },
          putNode: async (key) => {
            const res = await agent.api(`/v1/kv/${base}/Arith/${key}`, { method: "PUT", body: "" });
            assert.equal((await res.text()).trim(), "true");
          },
          midWindow: async () => {
            await proxy.cut();
            proxy.restore();
          },
          windowMs: 12_000,
          boundMs: 3000,
        };
        check(reg, await scenario(reg));
      });
    } finally {
      await proxy.close();
      await agent.stop();
    }
  },
});

// A registry where nothing listens (a closed loopback port, connections refused): an XClient's
// call fails promptly — not after `discoveryTimeout` — with NoServerAvailableError whose `cause`
// is the registry's typed error (a RegistryError, the client library's error as its `cause`).
async function deadRegistryCall(
  name: string,
  discovery: (endpoint: string) => ServiceDiscovery,
  typed: new (...args: never[]) => RegistryError,
): Promise<void> {
  const endpoint = `127.0.0.1:${freePort()}`;
  const d = discovery(endpoint);
  const xclient = new XClient("Arith", FailMode.Failfast, SelectMode.RoundRobin, d, {
    discoveryTimeout: 5000,
  });
  const figures: number[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      const e = await bounded(
        xclient.call("Mul", { A: 2, B: 3 }).then(() => undefined, (e) => e as Error),
        10_000,
        `${name}: call ${i}`,
      );
      const ms = Math.round(performance.now() - t0);
      figures.push(ms);
      assert.ok(e instanceof NoServerAvailableError, `${name}: ${e}`);
      assert.ok(e.cause instanceof RegistryError, `${name}: cause ${String(e.cause)}`);
      assert.ok(e.cause instanceof typed, `${name}: cause ${String(e.cause)}`);
      assert.equal(e.cause.unavailable, true, `${name}: ${e.cause.message}`);
      // well below discoveryTimeout (the first call waits for the first list's failure)
      assert.ok(ms < 3000, `${name}: call ${i} failed after ${ms} ms`);
      await delay(300);
    }
  } finally {
    await xclient.close();
    await d.close();
  }
  console.log(`${name} at a closed port: calls failed after ms ${JSON.stringify(figures)}`);
}

Deno.test("etcd at a closed port: calls fail promptly with an EtcdError as cause", async () => {
  await deadRegistryCall(
    "etcd",
    (ep) => new EtcdDiscovery("/rpcx_dead", "Arith", [ep], { retryInitialMs: 200 }),
    EtcdError,
  );
});

Deno.test("consul at a closed port: calls fail promptly with a ConsulError as cause", async () => {
  await deadRegistryCall(
    "consul",
    (ep) => new ConsulDiscovery("rpcx_dead", "Arith", [ep], { retryInitialMs: 200 }),
    ConsulError,
  );
});

Deno.test("redis at a closed port: calls fail promptly with a RedisError as cause", async () => {
  await deadRegistryCall(
    "redis",
    (ep) => new RedisDiscovery("/rpcx_dead", "Arith", [ep], { retryInitialMs: 200 }),
    RedisError,
  );
});
