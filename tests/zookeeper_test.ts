// ZooKeeper registry against a real ZooKeeper (one server per file, 127.0.0.1, temp data dir):
// Go rpcx's node layout, discovery lists and watches, session expiry on both sides, a node left
// by an older session, XClient through the discovery (joins, SIGKILL, graceful shutdown,
// state=inactive, weight/group), ZooKeeper restarted under load, outage/recovered events.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import zookeeper from "node-zookeeper-client";
import { FailMode, type RegistryOutageEvent, SelectMode, XClient } from "@rpcx/core";
import {
  ZooKeeperDiscovery,
  type ZooKeeperDiscoveryOptions,
  ZooKeeperError,
  type ZooKeeperRegisterOptions,
  ZooKeeperRegisterPlugin,
} from "@rpcx/core/zookeeper";
import type { Reply } from "../examples/arith.ts";
import { delay, freePort, needs, waitFor } from "./support/env.ts";
import { startExampleServer } from "./support/examples.ts";
import {
  exampleServerSignalled,
  goAndDenoCallEachOther,
  serveCountedArith,
  type ServedArith,
} from "./support/registry_scenarios.ts";
import {
  GO_ARITH_WEIGHT_5,
  type GoRegistry,
  needGoPeer,
  startGoServer,
} from "./support/go_peer.ts";
import {
  fourLetter,
  startTcpProxy,
  startZooKeeper,
  zooKeeperMissing,
  type ZooKeeperServer,
} from "./support/zookeeper_server.ts";

// ---------------------------------------------------------------------------------------------
// One ZooKeeper for the whole file, on purpose: a JVM start takes seconds, and every test works
// under its own base path (tests that stop or restart it start it again through zkServer()). It
// is started by the first test that needs it and SIGKILLed when the module unloads, so the
// process outlives each single test (the sanitizers do not track child processes).

let zkStarting: Promise<ZooKeeperServer | undefined> | undefined;
let zkShared: ZooKeeperServer | undefined;
globalThis.addEventListener("unload", () => zkShared?.killSync());

async function zkServer(): Promise<ZooKeeperServer | undefined> {
  if (!needs("ZooKeeper", zooKeeperMissing())) return undefined;
  zkStarting ??= startZooKeeper({ tickTime: 200 }).then((s) => (zkShared = s));
  const zk = await zkStarting;
  if (zk && !zk.running) await zk.start();
  return zk;
}

let uniq = 0;
function basePath(name: string): string {
  return `/rpcx_${name}_${Date.now().toString(36)}_${uniq++}`;
}

/** The test's timings: short sessions and retries so everything happens within seconds. */
const PLUGIN_OPTS: Partial<ZooKeeperRegisterOptions> = {
  updateInterval: 500,
  sessionTimeout: 2000,
  opTimeout: 1000,
  spinDelay: 100,
};
const DISCOVERY_OPTS: ZooKeeperDiscoveryOptions = {
  sessionTimeout: 2000,
  opTimeout: 500,
  spinDelay: 100,
  retryInitialMs: 100,
  retryMaxMs: 400,
};

// ---------------------------------------------------------------------------------------------
// An operator's raw ZooKeeper client (node-zookeeper-client as is): reads the layout, edits data.

interface RawStat {
  ephemeralOwner: Buffer;
  version: number;
}
interface RawClient {
  connect(): void;
  close(): void;
  once(event: string, fn: () => void): void;
  getSessionId(): Buffer;
  getData(path: string, cb: (e: Error | null, data?: Buffer, stat?: RawStat) => void): void;
  setData(path: string, data: Buffer, version: number, cb: (e: Error | null) => void): void;
  getChildren(path: string, cb: (e: Error | null, children?: string[]) => void): void;
  create(
    path: string,
    data: Buffer,
    mode: number,
    cb: (e: Error | null) => void,
  ): void;
  remove(path: string, version: number, cb: (e: Error | null) => void): void;
  connectionManager: { socket?: { destroy(): void } };
}

interface NodeInfo {
  data: string;
  owner: string; // ephemeralOwner as 16 hex digits ("0000000000000000" for persistent nodes)
}

const NO_OWNER = "0000000000000000";

class Operator {
  readonly #c: RawClient;
  private constructor(c: RawClient) {
    this.#c = c;
  }

  /** Connects; a handshake that gets no answer (ZooKeeper just restarted) is tried again. */
  static async open(connectString: string): Promise<Operator> {
    for (let attempt = 1;; attempt++) {
      const c = zookeeper.createClient(connectString, {
        sessionTimeout: 5000,
        spinDelay: 100,
      }) as unknown as RawClient;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const connected = await new Promise<boolean>((resolve) => {
        c.once("connected", () => resolve(true));
        timer = setTimeout(() => resolve(false), 3000);
        c.connect();
      });
      clearTimeout(timer);
      if (connected) return new Operator(c);
      c.close();
      c.connectionManager.socket?.destroy();
      if (attempt === 5) throw new Error(`operator: cannot connect to ${connectString}`);
    }
  }

  get sessionId(): string {
    return this.#c.getSessionId().toString("hex");
  }

  get(path: string): Promise<NodeInfo | undefined> {
    return new Promise((resolve, reject) =>
      this.#c.getData(path, (e, data, stat) => {
        if (e) {
          if ((e as Error & { code?: number }).code === -101) resolve(undefined);
          else reject(e);
        } else {
          resolve({
            data: data ? data.toString("utf8") : "",
            owner: stat!.ephemeralOwner.toString("hex"),
          });
        }
      })
    );
  }

  set(path: string, value: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#c.setData(path, Buffer.from(value), -1, (e) => (e ? reject(e) : resolve()))
    );
  }

  children(path: string): Promise<string[]> {
    return new Promise((resolve, reject) =>
      this.#c.getChildren(path, (e, ch) => (e ? reject(e) : resolve((ch ?? []).sort())))
    );
  }

  create(path: string, value: string, ephemeral: boolean): Promise<void> {
    const mode = ephemeral ? zookeeper.CreateMode.EPHEMERAL : zookeeper.CreateMode.PERSISTENT;
    return new Promise((resolve, reject) =>
      this.#c.create(path, Buffer.from(value), mode, (e) => (e ? reject(e) : resolve()))
    );
  }

  async close(): Promise<void> {
    const gone = new Promise<void>((r) => this.#c.once("disconnected", r));
    this.#c.close();
    await Promise.race([gone, delay(2000)]);
  }
}

// ---------------------------------------------------------------------------------------------
// Servers under test.

type TestServer = ServedArith<ZooKeeperRegisterPlugin>;

/** Arith (its calls counted in `service.hits`) served on a free port, registered under `base`. */
async function startServer(
  connectString: string,
  base: string,
  meta = "",
  opts: Partial<ZooKeeperRegisterOptions> = {},
): Promise<TestServer> {
  const plugin = new ZooKeeperRegisterPlugin({
    servers: [connectString],
    basePath: base,
    ...PLUGIN_OPTS,
    ...opts,
  });
  return await serveCountedArith(plugin, meta);
}

/** A plugin alone (no Server), advertising a made-up address. */
async function startPlugin(
  connectString: string,
  base: string,
  serviceAddress: string,
  opts: Partial<ZooKeeperRegisterOptions> = {},
): Promise<ZooKeeperRegisterPlugin> {
  const plugin = new ZooKeeperRegisterPlugin({
    servers: [connectString],
    basePath: base,
    serviceAddress,
    ...PLUGIN_OPTS,
    ...opts,
  });
  await plugin.start();
  return plugin;
}

function keys(d: { getServices(): { key: string }[] }): string[] {
  return d.getServices().map((p) => p.key).sort();
}

// ---------------------------------------------------------------------------------------------

Deno.test("zookeeper: Go rpcx's node layout, values and ephemeral owners", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const op = await Operator.open(zk.connectString);
  const top = basePath("layout");
  const base = `${top}/deep`;
  const s = await startServer(zk.connectString, base, "weight=10&group=a").catch(async (e) => {
    await op.close();
    throw e;
  });
  try {
    const session = s.plugin.sessionId;
    assert.match(session, /^[0-9a-f]{16}$/);
    assert.notEqual(session, NO_OWNER);
    // Parents libkv creates on the way: persistent, empty data.
    assert.deepEqual(await op.get(top), { data: "", owner: NO_OWNER });
    assert.deepEqual(await op.get(base), { data: "rpcx_path", owner: NO_OWNER });
    assert.deepEqual(await op.get(`${base}/Arith`), { data: "Arith", owner: NO_OWNER });
    assert.deepEqual(await op.children(`${base}/Arith`), [s.key]);
    assert.deepEqual(await op.get(`${base}/Arith/${s.key}`), {
      data: "weight=10&group=a",
      owner: session,
    });

    // A base path without the leading slash lands at the same place, as in Go.
    const bare = basePath("bare").slice(1);
    const p = await startPlugin(zk.connectString, bare, "tcp@127.0.0.1:1");
    await p.register("Arith", null, "");
    assert.deepEqual(await op.get(`/${bare}`), { data: "rpcx_path", owner: NO_OWNER });
    assert.deepEqual(await op.get(`/${bare}/Arith/tcp@127.0.0.1:1`), {
      data: "",
      owner: p.sessionId,
    });
    await p.stop();

    // Unregistering an unknown name, or with nothing registered at all, is fine.
    await s.plugin.unregister("Nope");
    const empty = await startPlugin(zk.connectString, basePath("empty"), "tcp@127.0.0.1:2");
    await empty.unregister("Arith");
    await empty.stop();
    await empty.stop();

    await s.server.unregister("Arith");
    assert.equal(await op.get(`${base}/Arith/${s.key}`), undefined);
    assert.deepEqual(await op.get(`${base}/Arith`), { data: "Arith", owner: NO_OWNER });
  } finally {
    await s.server.close();
    await op.close();
  }
});

Deno.test("zookeeper: metrics are written into the node on refresh", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const base = basePath("metrics");
  const op = await Operator.open(zk.connectString);
  const d = new ZooKeeperDiscovery(base, "Arith", [zk.connectString], DISCOVERY_OPTS);
  const x = new XClient("Arith", FailMode.Failfast, SelectMode.RoundRobin, d);
  const s = await startServer(zk.connectString, base, "weight=2", {
    metrics: true,
    updateInterval: 200,
  });
  try {
    await waitFor("selectable", () => x.servers.length === 1, 5000);
    for (let i = 0; i < 5; i++) await x.call("Mul", { A: 1, B: 2 });
    let meta = new URLSearchParams();
    await waitFor("calls figure written", async () => {
      meta = new URLSearchParams((await op.get(`${base}/Arith/${s.key}`))?.data ?? "");
      return Number(meta.get("calls")) > 0;
    }, 5000);
    assert.equal(meta.get("weight"), "2");
    assert.match(meta.get("connections") ?? "", /^\d+\.\d\d$/);
    // the discovery follows the data change
    await waitFor("discovery sees metrics", () => d.getServices()[0]?.value.includes("calls="));
  } finally {
    await x.close();
    await d.close();
    await s.server.close();
    await op.close();
  }
});

Deno.test("zookeeper: discovery lists children with data and follows every change", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const base = basePath("list");
  const op = await Operator.open(zk.connectString);
  // Nothing registered yet: the service node does not even exist.
  const d = new ZooKeeperDiscovery(base, "Arith", [zk.connectString], DISCOVERY_OPTS);
  const lists: string[][] = [];
  d.watch((pairs) => lists.push(pairs.map((p) => p.key).sort()));
  const plugins: ZooKeeperRegisterPlugin[] = [];
  let other: ZooKeeperDiscovery | undefined;
  try {
    await d.ready();
    assert.deepEqual(d.getServices(), []);
    assert.equal(d.path, `${base}/Arith`);

    const a = await startPlugin(zk.connectString, base, "tcp@127.0.0.1:1001");
    plugins.push(a);
    await a.register("Arith", null, "weight=1");
    await waitFor("first server listed", () => keys(d).length === 1, 5000);
    assert.deepEqual(d.getServices(), [{ key: "tcp@127.0.0.1:1001", value: "weight=1" }]);

    const b = await startPlugin(zk.connectString, base, "tcp@127.0.0.1:1002");
    plugins.push(b);
    await b.register("Arith", null, "weight=2&group=x");
    await waitFor("second server listed", () => keys(d).length === 2, 5000);

    // Data watches: an operator's edit shows up.
    await op.set(`${base}/Arith/tcp@127.0.0.1:1001`, "weight=1&state=inactive");
    await waitFor(
      "edited metadata",
      () => d.getServices().some((p) => p.value === "weight=1&state=inactive"),
      5000,
    );
    // ...and again (watches are re-armed after each event).
    await op.set(`${base}/Arith/tcp@127.0.0.1:1001`, "weight=4");
    await waitFor("edited again", () => d.getServices().some((p) => p.value === "weight=4"), 5000);

    await a.unregister("Arith");
    await waitFor("removed", () => keys(d).join() === "tcp@127.0.0.1:1002", 5000);

    // clone: same ZooKeeper and base, another service.
    other = d.clone("Other");
    await other.ready();
    assert.deepEqual(other.getServices(), []);
    await b.register("Other", null, "");
    await waitFor("clone sees its service", () => keys(other!).length === 1, 5000);
    assert.deepEqual(keys(d), ["tcp@127.0.0.1:1002"]);

    await b.stop(); // closes the session: both nodes go
    await waitFor("all gone", () => keys(d).length === 0 && keys(other!).length === 0, 5000);
    assert.ok(lists.length >= 5, `watchers saw ${lists.length} lists`);
  } finally {
    for (const p of plugins) await p.stop();
    await other?.close();
    await d.close();
    await op.close();
  }
});

Deno.test("zookeeper: a node left by an older session is replaced (fast restart)", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const base = basePath("stale");
  const op = await Operator.open(zk.connectString);
  const addr = "tcp@127.0.0.1:2001";
  const node = `${base}/Arith/${addr}`;
  let p: ZooKeeperRegisterPlugin | undefined;
  try {
    // The previous process's session still holds an ephemeral node at our path.
    await op.create(base, "rpcx_path", false);
    await op.create(`${base}/Arith`, "Arith", false);
    await op.create(node, "weight=1&from=old", true);
    assert.equal((await op.get(node))!.owner, op.sessionId);

    p = await startPlugin(zk.connectString, base, addr);
    await p.register("Arith", null, "weight=7");
    assert.deepEqual(await op.get(node), { data: "weight=7", owner: p.sessionId });

    // A refresh rewrites our own node in place (no delete/create).
    await p.refresh();
    assert.deepEqual(await op.get(node), { data: "weight=7", owner: p.sessionId });

    // A persistent leftover (e.g. written by hand) is replaced by our ephemeral node too.
    await p.unregister("Arith");
    await op.create(node, "manual", false);
    await p.register("Arith", null, "weight=8");
    assert.deepEqual(await op.get(node), { data: "weight=8", owner: p.sessionId });
  } finally {
    await p?.stop();
    await op.close();
  }
});

Deno.test("zookeeper: the plugin re-creates its node in a new session after expiry", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const base = basePath("expiry");
  const proxy = startTcpProxy(zk.port);
  const op = await Operator.open(zk.connectString);
  const d = new ZooKeeperDiscovery(base, "Arith", [zk.connectString], DISCOVERY_OPTS);
  const addr = "tcp@127.0.0.1:3001";
  let p: ZooKeeperRegisterPlugin | undefined;
  try {
    p = await startPlugin(proxy.connectString, base, addr, { sessionTimeout: 1000 });
    await p.register("Arith", null, "weight=3");
    await waitFor("listed", () => keys(d).join() === addr, 5000);
    const first = p.sessionId;

    await proxy.cut(); // ZooKeeper goes on; the plugin's session expires there
    await waitFor("ephemeral node gone with the session", () => keys(d).length === 0, 5000);
    assert.equal(await op.get(`${base}/Arith/${addr}`), undefined);
    proxy.restore();

    await waitFor("node re-created in a new session", async () => {
      const n = await op.get(`${base}/Arith/${addr}`);
      return n !== undefined && n.owner === p!.sessionId && n.owner !== first;
    }, 10_000);
    assert.equal((await op.get(`${base}/Arith/${addr}`))!.data, "weight=3");
    await waitFor("listed again", () => keys(d).join() === addr, 5000);
  } finally {
    await p?.stop();
    await d.close();
    await proxy.close();
    await op.close();
  }
});

Deno.test("zookeeper: unregister and stop during an outage return at once; deletes follow", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const base = basePath("unreg");
  const proxy = startTcpProxy(zk.port);
  const op = await Operator.open(zk.connectString);
  const p = await startPlugin(proxy.connectString, base, "tcp@127.0.0.1:3501", {
    sessionTimeout: 5000,
  });
  try {
    await p.register("Arith", null, "a=1");
    await p.register("Other", null, "b=2");
    const session = p.sessionId;
    await proxy.cut();
    await waitFor("plugin notices", () => p.sessionId === "", 3000);
    let t0 = Date.now();
    await p.unregister("Arith");
    assert.ok(Date.now() - t0 < 300, `unregister took ${Date.now() - t0} ms`);
    // The session is alive on the server (5 s), so the node is still there...
    assert.equal((await op.get(`${base}/Arith/tcp@127.0.0.1:3501`))?.owner, session);
    proxy.restore();
    // ...and goes as soon as the plugin is back, in the same session.
    await waitFor(
      "pending delete done",
      async () => (await op.get(`${base}/Arith/tcp@127.0.0.1:3501`)) === undefined,
      5000,
    );
    assert.equal(p.sessionId, session);
    assert.equal((await op.get(`${base}/Other/tcp@127.0.0.1:3501`))?.data, "b=2");

    await proxy.cut();
    await waitFor("plugin notices again", () => p.sessionId === "", 3000);
    t0 = Date.now();
    await p.stop();
    assert.ok(Date.now() - t0 < 500, `stop took ${Date.now() - t0} ms`);
  } finally {
    await p.stop();
    await proxy.close();
    await op.close();
  }
});

Deno.test("zookeeper: discovery keeps its list through an outage and an expired session", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const base = basePath("doutage");
  const proxy = startTcpProxy(zk.port);
  const d = new ZooKeeperDiscovery(base, "Arith", [proxy.connectString], {
    ...DISCOVERY_OPTS,
    sessionTimeout: 1000,
    opTimeout: 300,
  });
  const outages: RegistryOutageEvent[] = [];
  let recovered = 0;
  d.addEventListener("outage", (e) => outages.push(e as RegistryOutageEvent));
  d.addEventListener("recovered", () => recovered++);
  const a = await startPlugin(zk.connectString, base, "tcp@127.0.0.1:4001");
  const b = await startPlugin(zk.connectString, base, "tcp@127.0.0.1:4002");
  try {
    await a.register("Arith", null, "");
    await waitFor("listed", () => keys(d).join() === "tcp@127.0.0.1:4001", 5000);

    await proxy.cut();
    await waitFor("outage reported", () => outages.length >= 3, 5000);
    assert.equal(d.inOutage, true);
    assert.deepEqual(keys(d), ["tcp@127.0.0.1:4001"], "the last list is kept");
    // Changes while the discovery cannot see ZooKeeper.
    await b.register("Arith", null, "");
    await a.unregister("Arith");
    await delay(1500); // past the discovery's session timeout: it expires on the server
    proxy.restore();

    await waitFor("re-listed", () => keys(d).join() === "tcp@127.0.0.1:4002", 10_000);
    await waitFor("recovered", () => recovered === 1, 5000);
    assert.equal(d.inOutage, false);
    // Attempts count up; delays double from 100 ms and stay within 400 ms.
    outages.forEach((e, i) => assert.equal(e.attempt, i + 1));
    assert.deepEqual(outages.slice(0, 3).map((e) => e.retryInMs), [100, 200, 400]);
    assert.ok(outages.every((e) => e.retryInMs <= 400));
    assert.ok(outages.every((e) => e.error instanceof ZooKeeperError && e.error.unavailable));
  } finally {
    await a.stop();
    await b.stop();
    await d.close();
    await proxy.close();
  }
});

Deno.test("zookeeper: XClient calls through the discovery; joins are used, shutdown removes at once", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const base = basePath("xclient");
  const d = new ZooKeeperDiscovery(base, "Arith", [zk.connectString], DISCOVERY_OPTS);
  const x = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
  const s1 = await startServer(zk.connectString, base);
  let s2: TestServer | undefined;
  try {
    await waitFor("first server selectable", () => x.servers.length === 1, 5000);
    assert.deepEqual(await x.call<Reply>("Mul", { A: 10, B: 20 }), { C: 200 });
    assert.equal(s1.service.hits, 1);

    s2 = await startServer(zk.connectString, base);
    await waitFor("second server selectable", () => x.servers.length === 2, 5000);
    for (let i = 0; i < 10; i++) await x.call("Mul", { A: i, B: 2 });
    assert.ok(s2.service.hits >= 4, `second server got ${s2.service.hits} of 10 calls`);

    const t0 = Date.now();
    await s2.server.shutdown();
    await waitFor("gone from the discovery", () => keys(d).join() === s1.key, 2000, 10);
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `removed after ${ms} ms`);
    assert.deepEqual(x.servers, [s1.key]);
    const before = s1.service.hits;
    for (let i = 0; i < 5; i++) await x.call("Mul", { A: 1, B: 1 });
    assert.equal(s1.service.hits, before + 5);
  } finally {
    await x.close();
    await d.close();
    await s2?.server.close();
    await s1.server.close();
  }
});

Deno.test("zookeeper: a server killed with SIGKILL leaves within its session timeout", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const base = basePath("sigkill");
  const port = freePort();
  const key = `tcp@127.0.0.1:${port}`;
  const sessionMs = 1200;
  const child = startExampleServer("zookeeper", [
    "--addr",
    `127.0.0.1:${port}`,
    "--registry",
    zk.connectString,
    "--base",
    base,
    "--session",
    String(sessionMs),
    "--update",
    "500",
  ]);
  const d = new ZooKeeperDiscovery(base, "Arith", [zk.connectString], DISCOVERY_OPTS);
  const x = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
  const local = await startServer(zk.connectString, base);
  try {
    assert.equal(await child.ready, `127.0.0.1:${port}`);
    await waitFor("child listed", () => keys(d).includes(key), 5000);
    await waitFor("child selectable", () => x.servers.includes(key), 5000);

    await child.stop(); // SIGKILL
    const t0 = Date.now();
    await waitFor("killed server gone", () => !keys(d).includes(key), sessionMs + 3000, 20);
    const ms = Date.now() - t0;
    console.log(`  killed server left the list after ${ms} ms (session ${sessionMs} ms)`);
    // ZooKeeper expires a session between 2/3 of its timeout (the last ping was up to 1/3
    // before the kill) and the timeout plus a tick (200 ms); the watch adds a round trip, and a
    // loaded machine some more. Removal by the server's own unregister would be at once (< 1/2).
    assert.ok(ms < sessionMs + 2000, `left ${ms} ms after the kill, session ${sessionMs} ms`);
    assert.ok(ms >= sessionMs / 2, `left after ${ms} ms: too early for a session expiry`);
    assert.ok(!x.servers.includes(key));
    assert.deepEqual(x.servers, [local.key]);
    for (let i = 0; i < 5; i++) await x.call("Mul", { A: 2, B: 3 });
  } finally {
    await child.stop();
    await x.close();
    await d.close();
    await local.server.close();
  }
});

Deno.test("zookeeper + examples/zookeeper server: SIGTERM and SIGINT unregister at once (not at session expiry)", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const op = await Operator.open(zk.connectString);
  try {
    await exampleServerSignalled({
      example: "zookeeper",
      // A 20 s session: a server that ended without a word would stay listed that long.
      serverFlags: (base) => [
        "--registry",
        zk.connectString,
        "--base",
        base,
        "--session",
        "20000",
        "--update",
        "10000",
      ],
      nodeListed: async (base, key) => (await op.get(`${base}/Arith/${key}`)) !== undefined,
      discovery: (base) =>
        new ZooKeeperDiscovery(base, "Arith", [zk.connectString], DISCOVERY_OPTS),
      lifetimeMs: 20_000,
      boundMs: 2000,
    });
  } finally {
    await op.close();
  }
});

Deno.test("zookeeper: state=inactive written by an operator is honoured, then undone", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const base = basePath("inactive");
  const op = await Operator.open(zk.connectString);
  const d = new ZooKeeperDiscovery(base, "Arith", [zk.connectString], DISCOVERY_OPTS);
  const x = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
  const s1 = await startServer(zk.connectString, base, "weight=1");
  const s2 = await startServer(zk.connectString, base, "weight=1");
  try {
    await waitFor("both selectable", () => x.servers.length === 2, 5000);
    const node = `${base}/Arith/${s1.key}`;
    await op.set(node, "weight=1&state=inactive");
    await waitFor("inactive server dropped", () => x.servers.join() === s2.key, 5000);
    const [h1, h2] = [s1.service.hits, s2.service.hits];
    for (let i = 0; i < 6; i++) await x.call("Mul", { A: 1, B: 2 });
    assert.equal(s1.service.hits, h1);
    assert.equal(s2.service.hits, h2 + 6);

    await op.set(node, "weight=1&state=active");
    await waitFor("selectable again", () => x.servers.length === 2, 5000);
    for (let i = 0; i < 6; i++) await x.call("Mul", { A: 1, B: 2 });
    assert.ok(s1.service.hits > h1);
  } finally {
    await x.close();
    await d.close();
    await s1.server.close();
    await s2.server.close();
    await op.close();
  }
});

Deno.test("zookeeper: weight and group metadata reach the selectors", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const base = basePath("weights");
  const d = new ZooKeeperDiscovery(base, "Arith", [zk.connectString], DISCOVERY_OPTS);
  const x = new XClient("Arith", FailMode.Failfast, SelectMode.WeightedRoundRobin, d, {
    group: "a",
  });
  const light = await startServer(zk.connectString, base, "weight=1&group=a");
  const heavy = await startServer(zk.connectString, base, "weight=3&group=a");
  const elsewhere = await startServer(zk.connectString, base, "weight=9&group=b");
  try {
    await waitFor("all three listed", () => keys(d).length === 3, 5000);
    await waitFor("group a selectable", () => x.servers.length === 2, 5000);
    assert.deepEqual(x.servers.sort(), [light.key, heavy.key].sort());
    for (let i = 0; i < 40; i++) await x.call("Mul", { A: i, B: 1 });
    assert.equal(light.service.hits, 10);
    assert.equal(heavy.service.hits, 30);
    assert.equal(elsewhere.service.hits, 0);
  } finally {
    await x.close();
    await d.close();
    for (const s of [light, heavy, elsewhere]) await s.server.close();
  }
});

Deno.test("zookeeper: ZooKeeper restarted mid-test: registrations return, no call fails", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const base = basePath("restart");
  const d = new ZooKeeperDiscovery(base, "Arith", [zk.connectString], DISCOVERY_OPTS);
  let outages = 0;
  let recovered = 0;
  d.addEventListener("outage", () => outages++);
  d.addEventListener("recovered", () => recovered++);
  const x = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
  // s1's 1 s session may expire while ZooKeeper is down (its node is then deleted and must be
  // re-created); s2's 6 s session outlives the outage, so the list never empties and a call has
  // a server to go to whenever s1 is briefly unlisted (both keep serving throughout). With two
  // 1 s sessions, a loaded machine could expire both at once: an empty list fails calls.
  const s1 = await startServer(zk.connectString, base, "", { sessionTimeout: 1000 });
  const s2 = await startServer(zk.connectString, base, "", { sessionTimeout: 6000 });
  let pluginOutages = 0;
  s1.plugin.addEventListener("outage", () => pluginOutages++);
  const failures: unknown[] = [];
  let calls = 0;
  let running = true;
  const loop = (async () => {
    const end = Date.now() + 30_000;
    while (running && Date.now() < end) {
      try {
        await x.call("Mul", { A: 3, B: 4 }, { timeout: 2000 });
        calls++;
      } catch (e) {
        failures.push(e);
      }
      await delay(20);
    }
  })();
  try {
    await waitFor("both listed", () => x.servers.length === 2, 5000);
    await delay(200);
    await zk.restart(1500); // down longer than s1's 1 s session
    const op = await Operator.open(zk.connectString);
    try {
      for (const s of [s1, s2]) {
        let seen = "";
        await waitFor(`${s.key} registered again`, async () => {
          const n = await op.get(`${base}/Arith/${s.key}`);
          seen = `node ${JSON.stringify(n)}, plugin session ${s.plugin.sessionId}`;
          return n !== undefined && n.owner === s.plugin.sessionId;
        }, 10_000).catch((e) => {
          throw new Error(`${e.message} (${seen})\n${zk.logTail(20)}`);
        });
      }
    } finally {
      await op.close();
    }
    await waitFor("discovery recovered", () => recovered >= 1 && !d.inOutage, 10_000);
    await waitFor("both listed again", () => keys(d).length === 2, 5000);
    const before = calls;
    await waitFor("calls go on", () => calls >= before + 10, 5000);
    running = false;
    await loop;
    assert.deepEqual(failures, [], `${failures.length} calls failed`);
    assert.ok(calls > 50, `${calls} calls`);
    assert.ok(outages >= 1, "the discovery reported the outage");
    assert.ok(pluginOutages >= 1, "the plugin reported the outage");
    console.log(`  ${calls} calls, 0 failed; discovery outage events: ${outages}`);
  } finally {
    running = false;
    await loop;
    await x.close();
    await d.close();
    await s1.server.close();
    await s2.server.close();
  }
});

Deno.test({
  name: "zookeeper + Go rpcx-zookeeper: same layout; Go and Deno find and call each other",
  async fn() {
    if (!needGoPeer()) return;
    const zk = await zkServer();
    if (!zk) return;
    const base = basePath("go");
    const reg: GoRegistry = { registry: "zookeeper", registryAddr: zk.connectString, base };
    const go = await startGoServer(reg, GO_ARITH_WEIGHT_5);
    const op = await Operator.open(zk.connectString);
    let local: TestServer | undefined;
    let d: ZooKeeperDiscovery | undefined;
    let x: XClient | undefined;
    try {
      const goKey = go.key;
      const goNode = `${base}/Arith/${goKey}`;
      // What Go wrote (it registers before printing LISTENING).
      assert.deepEqual(await op.get(base), { data: "rpcx_path", owner: NO_OWNER });
      assert.deepEqual(await op.get(`${base}/Arith`), { data: "Arith", owner: NO_OWNER });
      const goNodeInfo = await op.get(goNode);
      assert.equal(goNodeInfo?.data, "weight=5");
      assert.notEqual(goNodeInfo?.owner, NO_OWNER, "Go's service node is ephemeral");

      // Ours next to it: same shape, our own session.
      local = await startServer(zk.connectString, base, "weight=5");
      assert.deepEqual(await op.children(`${base}/Arith`), [goKey, local.key].sort());
      assert.deepEqual(await op.get(`${base}/Arith/${local.key}`), {
        data: "weight=5",
        owner: local.plugin.sessionId,
      });
      assert.deepEqual(await op.get(base), { data: "rpcx_path", owner: NO_OWNER });
      assert.deepEqual(await op.get(`${base}/Arith`), { data: "Arith", owner: NO_OWNER });
      assert.equal((await op.get(goNode))?.owner, goNodeInfo?.owner);

      // Our discovery finds the Go server; calls alternate between the two.
      d = new ZooKeeperDiscovery(base, "Arith", [zk.connectString], DISCOVERY_OPTS);
      x = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
      await waitFor("both selectable", () => x!.servers.length === 2, 5000);
      // Calls alternate between the two; Go's discovery finds ours, with its metadata, and
      // calls it.
      await goAndDenoCallEachOther(reg, x, goKey, local);

      // Go's graceful shutdown deletes its node; our discovery drops it.
      await go.kill("SIGTERM");
      await waitFor("Go server gone", () => !keys(d!).includes(goKey), 3000);
      assert.deepEqual(x.servers, [local.key]);
    } finally {
      await go.stop();
      await x?.close();
      await d?.close();
      await local?.server.close();
      await op.close();
    }
  },
});

Deno.test("zookeeper: Go's default session timeout of 10 s, as the server grants it", async () => {
  const zk = await zkServer();
  if (!zk) return;
  const base = basePath("defaults");
  // No sessionTimeout: the defaults, as a user gets them.
  const plugin = new ZooKeeperRegisterPlugin({
    servers: [zk.connectString],
    basePath: base,
    serviceAddress: "tcp@127.0.0.1:4901",
  });
  const d = new ZooKeeperDiscovery(base, "Arith", [zk.connectString]);
  // Set explicitly: shows that `cons` reports what each client asked for.
  const short = new ZooKeeperDiscovery(base, "Arith", [zk.connectString], {
    ...DISCOVERY_OPTS,
    sessionTimeout: 3000,
  });
  try {
    assert.equal(plugin.sessionTimeout, 10_000);
    await plugin.start();
    await plugin.register("Arith", null, "");
    await d.ready();
    await short.ready();
    await waitFor("the discovery to list the node", () => keys(d).length === 1, 5000);
    // ZooKeeper's own list of sessions: `to=` is the negotiated timeout in ms.
    const cons = await fourLetter(zk.port, "cons");
    const sid = `sid=0x${plugin.sessionId.replace(/^0+/, "")}`;
    const mine = cons.split("\n").find((l) => l.includes(sid));
    assert.ok(mine, `${sid} not in:\n${cons}`);
    assert.match(mine, /[(,]to=10000[,)]/, mine);
    const timeouts = [...cons.matchAll(/[(,]to=(\d+)[,)]/g)].map((m) => Number(m[1]));
    assert.ok(timeouts.filter((t) => t === 10_000).length >= 2, `plugin + discovery: ${timeouts}`);
    assert.ok(timeouts.includes(3000), `the explicit 3 s session: ${timeouts}`);
  } finally {
    await plugin.stop();
    await d.close();
    await short.close();
  }
});
