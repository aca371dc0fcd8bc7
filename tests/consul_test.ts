// Consul registry against a real Consul agent (tests/support/consul_agent.ts, dev mode with
// session_ttl_min lowered to 1s): Go rpcx-consul's KV layout and sessions checked through
// Consul's HTTP API, blocking-query discovery, session loss, agent restarts, XClient end to
// end, and the real Go rpcx-consul peer.
import assert from "node:assert/strict";
import { Server, type XClient } from "@rpcx/core";
import {
  CONSUL_LOCK_FLAGS,
  ConsulDiscovery,
  ConsulError,
  ConsulRegisterPlugin,
} from "@rpcx/core/consul";
import { type ConsulAgent, startConsul } from "./support/consul_agent.ts";
import {
  GO_ARITH_WEIGHT_5,
  type GoRegistry,
  needGoPeer,
  startGoServer,
} from "./support/go_peer.ts";
import {
  CountedArith,
  DISCOVERY_RETRY,
  discoveryOutageThenWipe,
  discoveryStartsDuringOutage,
  exampleServerKilled,
  exampleServerSignalled,
  goAndDenoCallEachOther,
  joinThenGracefulShutdown,
  MUL,
  operatorMarksInactive,
  type OutageFixture,
  type RegistryFixture,
  serveCountedArith,
  type ServedArith,
  START_CONTEXT,
  weightsAndGroups,
  xclientOf,
} from "./support/registry_scenarios.ts";
import { delay, freePort, waitFor } from "./support/env.ts";

const ctx = START_CONTEXT;

/** Runs `fn` with a fresh agent; stops it after. */
async function withConsul(
  fn: (agent: ConsulAgent) => Promise<void>,
  options: { persistent?: boolean; hcl?: string[]; token?: string; stock?: boolean } = {},
): Promise<void> {
  const agent = await startConsul(options);
  if (!agent) return;
  try {
    await fn(agent);
  } finally {
    await agent.stop();
  }
}

/** One raw KV entry as Consul's HTTP API shows it; `Flags` kept exact (it exceeds 2^53). */
interface RawEntry {
  Key: string;
  Value: string;
  Flags: string;
  Session?: string;
}

/** Every key under `prefix` (operator view through the HTTP API). */
async function dump(agent: ConsulAgent, prefix = ""): Promise<Record<string, RawEntry>> {
  const res = await agent.api(`/v1/kv/${prefix}?recurse`);
  if (res.status === 404) {
    await res.body?.cancel();
    return {};
  }
  const text = await res.text();
  const exact = text.replace(/"Flags":\s*(\d+)/g, '"Flags":"$1"');
  const out: Record<string, RawEntry> = {};
  for (const e of JSON.parse(exact) as RawEntry[]) {
    out[e.Key] = {
      Key: e.Key,
      Value: e.Value === null ? "" : new TextDecoder().decode(decodeBase64(e.Value)),
      Flags: e.Flags,
      Session: e.Session,
    };
  }
  return out;
}

function decodeBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

async function kvPut(agent: ConsulAgent, key: string, value: string, query = ""): Promise<string> {
  const res = await agent.api(`/v1/kv/${key}${query}`, { method: "PUT", body: value });
  const text = await res.text();
  assert.ok(res.ok, text);
  return text.trim();
}

async function kvDelete(agent: ConsulAgent, key: string): Promise<void> {
  const res = await agent.api(`/v1/kv/${key}`, { method: "DELETE" });
  await res.body?.cancel();
  assert.ok(res.ok);
}

interface SessionInfo {
  ID: string;
  Behavior: string;
  TTL: string;
  LockDelay: number;
}

async function sessionInfo(agent: ConsulAgent, id: string): Promise<SessionInfo | undefined> {
  const res = await agent.api(`/v1/session/info/${id}`);
  const list = (await res.json()) as SessionInfo[] | null;
  return list?.[0];
}

async function sessions(agent: ConsulAgent): Promise<SessionInfo[]> {
  return (await (await agent.api("/v1/session/list")).json()) as SessionInfo[];
}

async function sessionCreate(agent: ConsulAgent, ttl = "10s"): Promise<string> {
  const res = await agent.api("/v1/session/create", {
    method: "PUT",
    body: JSON.stringify({ TTL: ttl, Behavior: "delete", LockDelay: "1ms" }),
  });
  return ((await res.json()) as { ID: string }).ID;
}

async function sessionDestroy(agent: ConsulAgent, id: string): Promise<void> {
  const res = await agent.api(`/v1/session/destroy/${id}`, { method: "PUT" });
  await res.body?.cancel();
}

type PluginOptions = Partial<ConstructorParameters<typeof ConsulRegisterPlugin>[0]>;

function plugin(agent: ConsulAgent, extra: PluginOptions = {}): ConsulRegisterPlugin {
  return new ConsulRegisterPlugin({
    servers: [agent.endpoint],
    basePath: "/rpcx_test",
    updateInterval: 1000, // session TTL (1000 + 1000) / 2 = 1s; Consul invalidates after ≤ 2 s
    ...extra,
  });
}

type Served = ServedArith<ConsulRegisterPlugin>;

async function serveArith(
  agent: ConsulAgent,
  metadata = "",
  extra: PluginOptions = {},
): Promise<Served> {
  return await serveCountedArith(plugin(agent, extra), metadata);
}

function discovery(agent: ConsulAgent, base = "/rpcx_test", service = "Arith"): ConsulDiscovery {
  return new ConsulDiscovery(base, service, [agent.endpoint], {
    waitMs: 5000,
    ...DISCOVERY_RETRY,
  });
}

function xclient(d: ConsulDiscovery): XClient {
  return xclientOf(d);
}

function fixture(agent: ConsulAgent): RegistryFixture {
  return {
    // TTL (1000 + 19 000) / 2 = 10 s when long-lived
    serve: (metadata, o) => serveArith(agent, metadata, o?.longLived ? { expired: 19_000 } : {}),
    discovery: () => discovery(agent),
  };
}

Deno.test("consul plugin: libkv's layout, flags and a delete-behaviour session per node", () =>
  withConsul(async (agent) => {
    const p = plugin(agent, { expired: 3000 });
    await p.start(ctx);
    try {
      await p.register("Arith", {}, "weight=10&group=a");
      await p.register("Echo", {}, "");
      const node = "rpcx_test/Arith/tcp@127.0.0.1:8972";
      const kv = await dump(agent);
      assert.deepEqual(
        Object.keys(kv).sort(),
        [
          "rpcx_test",
          "rpcx_test/Arith",
          node,
          "rpcx_test/Echo",
          "rpcx_test/Echo/tcp@127.0.0.1:8972",
        ].sort(),
        "no leading slash, as libkv normalizes keys",
      );
      assert.equal(kv["rpcx_test"].Value, "rpcx_path");
      assert.equal(kv["rpcx_test/Arith"].Value, "Arith");
      assert.equal(kv[node].Value, "weight=10&group=a");
      for (const e of Object.values(kv)) assert.equal(e.Flags, CONSUL_LOCK_FLAGS, e.Key);
      assert.equal(kv["rpcx_test"].Session, undefined);
      assert.equal(kv["rpcx_test/Arith"].Session, undefined);
      const s = kv[node].Session!;
      assert.ok(s, "the service node is held by a session");
      assert.equal(p.sessionOf(node), s);
      assert.notEqual(kv["rpcx_test/Echo/tcp@127.0.0.1:8972"].Session, s, "one session per node");
      const info = (await sessionInfo(agent, s))!;
      assert.equal(info.Behavior, "delete");
      assert.equal(p.sessionTtl, "2s");
      assert.equal(info.TTL, "2s", "(updateInterval + expired) / 2, as libkv asks");
      assert.equal(info.LockDelay, 1_000_000, "1 ms lock delay (ns)");

      // refresh renews and, with metrics off, leaves the value alone
      await p.refresh();
      assert.equal((await dump(agent))[node].Value, "weight=10&group=a");

      await p.unregister("Echo");
      const after = await dump(agent);
      assert.equal(after["rpcx_test/Echo/tcp@127.0.0.1:8972"], undefined);
      assert.equal(after["rpcx_test/Echo"].Value, "Echo", "the service dir stays, as in Go");
      assert.equal((await sessions(agent)).length, 1, "the unregistered node's session is gone");
    } finally {
      await p.stop();
    }
    const left = await dump(agent);
    assert.equal(left["rpcx_test/Arith/tcp@127.0.0.1:8972"], undefined, "stop deletes the node");
    assert.deepEqual(await sessions(agent), [], "stop destroys the sessions");
  }));

Deno.test("consul plugin: metrics written on refresh; no session when updateInterval is 0", () =>
  withConsul(async (agent) => {
    const p = plugin(agent, { basePath: "metrics_base", metrics: true });
    await p.start(ctx);
    try {
      await p.register("Arith", {}, "weight=2");
      await p.refresh();
      const v = new URLSearchParams(
        (await dump(agent))["metrics_base/Arith/tcp@127.0.0.1:8972"].Value,
      );
      assert.equal(v.get("weight"), "2");
      assert.equal(v.get("calls"), "10.00");
      assert.equal(v.get("connections"), "0.50");
    } finally {
      await p.stop();
    }
    const q = plugin(agent, { basePath: "/static", updateInterval: 0, expired: 0 });
    await q.start(ctx);
    try {
      await q.register("Arith", {}, "");
      assert.equal(q.sessionTtl, "");
      const e = (await dump(agent))["static/Arith/tcp@127.0.0.1:8972"];
      assert.equal(e.Session, undefined, "TTL 0: written without a session, as Go does");
    } finally {
      await q.stop();
    }
  }));

Deno.test("consul plugin: a session TTL Consul refuses is a clear ConsulError at serve()", () =>
  withConsul(async (agent) => {
    const server = new Server();
    // (200 + 200) / 2 = 200ms, below this agent's session_ttl_min of 1s
    server.use(plugin(agent, { updateInterval: 200, expired: 200 }));
    await server.register(new CountedArith(), "Arith", "");
    const err = await server.serve("tcp", "127.0.0.1:0").then(() => undefined, (e) => e);
    try {
      assert.ok(err instanceof ConsulError, String(err));
      assert.ok(err.status! >= 400, `HTTP ${err.status}`);
      assert.match(err.message, /session TTL 0\.2s/);
      assert.match(err.message, /session_ttl_min/);
    } finally {
      await server.close();
    }
    const wrong = await new ConsulRegisterPlugin({
      servers: ["127.0.0.1:1"],
      basePath: "/x",
      requestTimeout: 1000,
    }).start(ctx).then(() => undefined, (e) => e);
    assert.ok(wrong instanceof ConsulError && wrong.status === undefined, String(wrong));
  }));

Deno.test("consul plugin: Go's defaults (updateInterval 10 s) work against a stock agent; 1 s does not", () =>
  withConsul(async (agent) => {
    // Defaults: updateInterval 10 s, expired = updateInterval, so the session TTL is 10 s,
    // Consul's default session_ttl_min.
    const p = new ConsulRegisterPlugin({ servers: [agent.endpoint], basePath: "/rpcx_stock" });
    assert.equal(p.updateInterval, 10_000);
    assert.equal(p.sessionTtl, "10s");
    const server = new Server();
    server.use(p);
    await server.register(new CountedArith(), "Arith", "weight=3");
    const addr = await server.serve("tcp", "127.0.0.1:0");
    const node = `rpcx_stock/Arith/tcp@${addr}`;
    const short = new Server();
    try {
      const e = (await dump(agent, "rpcx_stock"))[node];
      assert.equal(e?.Value, "weight=3");
      const info = await sessionInfo(agent, e.Session!);
      assert.equal(info?.TTL, "10s");
      assert.equal(info?.Behavior, "delete");
      // What the README warns about: 1 s refreshes need a session TTL this agent refuses.
      short.use(
        new ConsulRegisterPlugin({
          servers: [agent.endpoint],
          basePath: "/rpcx_stock",
          updateInterval: 1000,
        }),
      );
      await short.register(new CountedArith(), "Arith", "");
      const err = await short.serve("tcp", "127.0.0.1:0").then(() => undefined, (e) => e);
      assert.ok(err instanceof ConsulError, String(err));
      assert.match(err.message, /session TTL 1s/);
      assert.match(err.message, /session_ttl_min/);
    } finally {
      await short.close();
      await server.shutdown({ timeout: 2000 });
    }
    assert.equal((await dump(agent, "rpcx_stock"))[node], undefined, "unregistered on shutdown");
  }, { stock: true }));

Deno.test("consul plugin: session destroyed by an operator → node re-created with a new session", () =>
  withConsul(async (agent) => {
    const p = plugin(agent);
    await p.start(ctx);
    const node = "rpcx_test/Arith/tcp@127.0.0.1:8972";
    try {
      await p.register("Arith", {}, "weight=1");
      const old = (await dump(agent))[node].Session!;
      await sessionDestroy(agent, old);
      await waitFor(
        "node deleted with its session",
        async () => (await dump(agent))[node] === undefined,
        3000,
      );
      await waitFor("node back", async () => (await dump(agent))[node] !== undefined, 3000);
      const now = (await dump(agent))[node];
      assert.equal(now.Value, "weight=1");
      assert.ok(now.Session && now.Session !== old, "held by a new session");
      assert.equal(p.sessionOf(node), now.Session);
    } finally {
      await p.stop();
    }
  }));

Deno.test("consul plugin: a node still held by an older session is taken over (fast restart)", () =>
  withConsul(async (agent) => {
    const node = "rpcx_test/Arith/tcp@127.0.0.1:8972";
    const older = await sessionCreate(agent, "10s");
    assert.equal(await kvPut(agent, node, "weight=7", `?acquire=${older}`), "true");
    const p = plugin(agent);
    await p.start(ctx);
    try {
      await p.register("Arith", {}, "weight=1");
      const e = (await dump(agent))[node];
      assert.equal(e.Value, "weight=1");
      assert.equal(e.Session, older, "libkv keeps whatever session holds the key");
      assert.equal(p.sessionOf(node), older);
      assert.equal((await sessions(agent)).length, 1, "the session it made first is destroyed");
    } finally {
      await p.stop();
    }
  }));

Deno.test("consul plugin: agent restarted (state wiped) → everything re-created; outage events", () =>
  withConsul(async (agent) => {
    const p = plugin(agent, { requestTimeout: 1000 });
    const events: string[] = [];
    let stopMs = 0;
    p.addEventListener("outage", () => events.push("outage"));
    p.addEventListener("recovered", () => events.push("recovered"));
    await p.start(ctx);
    const node = "rpcx_test/Arith/tcp@127.0.0.1:8972";
    try {
      await p.register("Arith", {}, "weight=4");
      await agent.halt();
      await waitFor("outage event", () => events.includes("outage"), 5000);
      await agent.resume();
      await waitFor("recovered", () => events.at(-1) === "recovered", 8000);
      const kv = await dump(agent);
      assert.equal(kv["rpcx_test"].Value, "rpcx_path");
      assert.equal(kv["rpcx_test/Arith"].Value, "Arith");
      assert.equal(kv[node].Value, "weight=4");
      assert.ok(kv[node].Session);
    } finally {
      const t0 = Date.now();
      await p.stop();
      stopMs = Date.now() - t0;
    }
    assert.ok(stopMs < 3000, `stop() took ${stopMs} ms`);
  }));

Deno.test("consul: ACLs on (default deny): a plugin without token gets a 403 ConsulError; tokens work", () =>
  withConsul(async (agent) => {
    const denied = await plugin(agent).start(ctx).then(() => undefined, (e) => e);
    assert.ok(denied instanceof ConsulError, String(denied));
    assert.equal(denied.status, 403);
    const p = plugin(agent, { token: "rpcx-root" });
    await p.start(ctx);
    const d = new ConsulDiscovery("/rpcx_test", "Arith", [agent.endpoint], {
      token: "rpcx-root",
    });
    const anonymous = new ConsulDiscovery("/rpcx_test", "Arith", [agent.endpoint]);
    try {
      await p.register("Arith", {}, "weight=1");
      await waitFor("listed with the token", () => d.getServices().length === 1, 3000);
      assert.equal((await dump(agent))["rpcx_test/Arith/tcp@127.0.0.1:8972"].Value, "weight=1");
      // ACL filtering hides the keys from an anonymous reader: an empty list, not an error.
      await anonymous.ready();
      await delay(300);
      assert.deepEqual(anonymous.getServices(), []);
      assert.equal(anonymous.inOutage, false);
    } finally {
      await anonymous.close();
      await d.close();
      await p.stop();
    }
  }, {
    token: "rpcx-root",
    hcl: [
      'acl { enabled = true, default_policy = "deny", tokens { initial_management = "rpcx-root" } }',
    ],
  }));

Deno.test("consul discovery: lists the prefix, follows every change, close() aborts the wait", () =>
  withConsul(async (agent) => {
    await kvPut(agent, "rpcx_test/Arith", "Arith");
    await kvPut(agent, "rpcx_test/Arith/tcp@127.0.0.1:9001", "weight=1");
    await kvPut(agent, "rpcx_test/ArithX/tcp@127.0.0.1:9009", "not ours");
    const d = new ConsulDiscovery("/rpcx_test/", "Arith", [agent.endpoint], { waitMs: 15_000 });
    let other: ConsulDiscovery | undefined;
    try {
      const seen: number[] = [];
      d.watch((pairs) => seen.push(pairs.length));
      await d.ready();
      assert.equal(d.prefix, "rpcx_test/Arith/");
      assert.deepEqual(d.getServices(), [{ key: "tcp@127.0.0.1:9001", value: "weight=1" }]);
      await kvPut(agent, "rpcx_test/Arith/tcp@127.0.0.1:9002", "weight=2");
      await waitFor("join seen", () => d.getServices().length === 2, 2000, 10);
      await kvPut(agent, "rpcx_test/Arith/tcp@127.0.0.1:9001", "weight=1&state=inactive");
      await waitFor(
        "value change seen",
        () => d.getServices().some((p) => p.value.includes("inactive")),
        2000,
        10,
      );
      await kvDelete(agent, "rpcx_test/Arith/tcp@127.0.0.1:9002");
      await waitFor("leave seen", () => d.getServices().length === 1, 2000, 10);
      await kvPut(agent, "unrelated", "x"); // a change elsewhere does not republish
      await delay(200);
      assert.deepEqual(seen, [1, 2, 2, 1], "first list, join, value change, leave");
      other = d.clone("ArithX") as ConsulDiscovery;
      await other.ready();
      assert.deepEqual(other.getServices(), [{ key: "tcp@127.0.0.1:9009", value: "not ours" }]);
      await other.close();
      const t0 = Date.now();
      await d.close();
      assert.ok(Date.now() - t0 < 500, `close took ${Date.now() - t0} ms (blocking query aborted)`);
    } finally {
      await other?.close();
      await d.close();
    }
  }));

/** `persistent`: the agent keeps its data across a restart; dev mode wipes it. */
function outageFixture(agent: ConsulAgent, persistent: boolean): OutageFixture {
  return {
    discovery: () => discovery(agent),
    putNode: async (key, value) => void await kvPut(agent, `rpcx_test/Arith/${key}`, value),
    putUnrelated: async (value) => void await kvPut(agent, "other", value),
    halt: () => agent.halt(),
    resume: (wiped) => {
      assert.equal(wiped, !persistent, "a dev agent always restarts wiped, a persistent one never");
      return agent.resume();
    },
  };
}

Deno.test("consul discovery: outage keeps the last list, emits outage/recovered, re-lists after a wipe", () =>
  withConsul((agent) => discoveryOutageThenWipe(outageFixture(agent, false))));

Deno.test("consul discovery: agent down at start → outage events, ready once it is up", () =>
  withConsul(
    (agent) => discoveryStartsDuringOutage(outageFixture(agent, true)),
    { persistent: true },
  ));

Deno.test("consul: several endpoints, the first one dead: plugin and discovery use the live one", () =>
  withConsul(async (agent) => {
    const dead = `127.0.0.1:${freePort()}`;
    const p = new ConsulRegisterPlugin({
      servers: [dead, agent.endpoint],
      basePath: "/rpcx_test",
      updateInterval: 1000,
    });
    await p.start(ctx);
    let d: ConsulDiscovery | undefined;
    try {
      await p.register("Arith", {}, "weight=1");
      d = new ConsulDiscovery("/rpcx_test", "Arith", [dead, agent.endpoint], {
        retryInitialMs: 50,
      });
      await d.ready();
      assert.deepEqual(d.getServices(), [{ key: "tcp@127.0.0.1:8972", value: "weight=1" }]);
    } finally {
      await d?.close();
      await p.stop();
    }
  }));

Deno.test("consul + XClient: register → discover → call; join; graceful shutdown removes at once", () =>
  withConsul((agent) => joinThenGracefulShutdown(fixture(agent))));

Deno.test("consul + XClient: examples/consul server (child) and client; SIGKILL → node removed by session TTL", () =>
  withConsul((agent) =>
    exampleServerKilled(fixture(agent), {
      example: "consul",
      registryFlags: ["--registry", agent.endpoint],
      serverFlags: ["--update", "1000"], // session TTL 1 s
      // Consul invalidates a session between TTL and 2×TTL after its last renewal
      boundMs: 2 * 1000 + 1500,
    })
  ));

Deno.test("consul + examples/consul server: SIGTERM and SIGINT unregister at once (not at session expiry)", () =>
  withConsul((agent) =>
    exampleServerSignalled({
      example: "consul",
      // updateInterval 10 s: its session TTL is 10 s, invalidated 10-20 s after a silent end.
      serverFlags: (base) => ["--registry", agent.endpoint, "--base", base, "--update", "10000"],
      nodeListed: async (base, key) => {
        const res = await agent.api(`/v1/kv/${base.slice(1)}/Arith/${key}`);
        await res.body?.cancel();
        return res.status === 200;
      },
      discovery: (base) => discovery(agent, base),
      lifetimeMs: 10_000,
      boundMs: 2000,
    })
  ));

Deno.test("consul + XClient: state=inactive written by an operator is honoured, then undone", () =>
  withConsul((agent) =>
    operatorMarksInactive(
      {
        ...fixture(agent),
        writeNode: async (key, value) => void await kvPut(agent, `rpcx_test/Arith/${key}`, value),
        readNode: async (key) => (await dump(agent))[`rpcx_test/Arith/${key}`]?.Value,
      },
      async (key) => {
        const node = (await dump(agent))[`rpcx_test/Arith/${key}`];
        assert.ok(node.Session, "an operator write keeps the node's session");
      },
    )
  ));

Deno.test("consul + XClient: weight and group metadata reach the selectors", () =>
  withConsul((agent) => weightsAndGroups(fixture(agent))));

Deno.test("consul + XClient: server agent restarted mid-test (data kept) → no call fails", () =>
  withConsul(async (agent) => {
    const a = await serveArith(agent, "", { requestTimeout: 1000 });
    const b = await serveArith(agent, "", { requestTimeout: 1000 });
    let c: Served | undefined;
    const d = discovery(agent);
    const x = xclient(d);
    try {
      await waitFor("both listed", () => x.servers.length === 2, 3000);
      let calls = 0;
      const deadline = Date.now() + 30_000;
      const restart = agent.restart({ downMs: 500 });
      let restarted = false;
      void restart.then(() => (restarted = true));
      while (!restarted && Date.now() < deadline) {
        assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
        calls++;
        await delay(20);
      }
      await restart;
      await waitFor("both registered again", async () => {
        const kv = await dump(agent, "rpcx_test/Arith/");
        return kv[`rpcx_test/Arith/${a.key}`] !== undefined &&
          kv[`rpcx_test/Arith/${b.key}`] !== undefined;
      }, 5000);
      await waitFor("discovery has both again", () => x.servers.length === 2, 5000);
      // The discovery follows Consul again (not a stale list): a node written now is listed.
      c = await serveArith(agent, "", { requestTimeout: 1000 });
      await waitFor(
        "a server registered after the restart",
        () => x.servers.includes(c!.key),
        5000,
      );
      for (let i = 0; i < 21; i++) assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
      console.log(`${calls + 21} calls across a Consul restart, none failed`);
      assert.ok(a.service.hits > 0 && b.service.hits > 0 && c.service.hits > 0);
    } finally {
      await x.close();
      await d.close();
      await a.server.close();
      await b.server.close();
      await c?.server.close();
    }
  }, { persistent: true }));

Deno.test({
  name:
    "consul + Go rpcx-consul: same keys, flags and sessions; Go and Deno find and call each other",
  async fn() {
    if (!needGoPeer()) return;
    await withConsul(async (agent) => {
      const reg: GoRegistry = {
        registry: "consul",
        registryAddr: agent.endpoint,
        base: "/rpcx_test",
      };
      const go = await startGoServer(reg, GO_ARITH_WEIGHT_5);
      let local: Served | undefined;
      let d: ConsulDiscovery | undefined;
      let x: XClient | undefined;
      try {
        const goKey = go.key;
        const goNode = `rpcx_test/Arith/${goKey}`;
        await waitFor("Go node", async () => (await dump(agent))[goNode] !== undefined, 5000);
        const goKv = await dump(agent);
        assert.deepEqual(Object.keys(goKv).sort(), ["rpcx_test", "rpcx_test/Arith", goNode]);
        assert.equal(goKv["rpcx_test"].Value, "rpcx_path");
        assert.equal(goKv["rpcx_test/Arith"].Value, "Arith");
        assert.equal(goKv[goNode].Value, "weight=5");
        for (const e of Object.values(goKv)) assert.equal(e.Flags, CONSUL_LOCK_FLAGS, e.Key);
        const goSession = (await sessionInfo(agent, goKv[goNode].Session!))!;
        assert.equal(goSession.Behavior, "delete");
        assert.equal(goSession.TTL, "1s", "Go: (interval + interval) / 2");

        local = await serveArith(agent, "weight=5");
        const node = `rpcx_test/Arith/${local.key}`;
        const both = await dump(agent);
        assert.equal(both[node].Value, "weight=5");
        assert.equal(both[node].Flags, goKv[goNode].Flags);
        const ours = (await sessionInfo(agent, both[node].Session!))!;
        assert.deepEqual(
          { Behavior: ours.Behavior, TTL: ours.TTL, LockDelay: ours.LockDelay },
          { Behavior: goSession.Behavior, TTL: goSession.TTL, LockDelay: goSession.LockDelay },
          "our session is made like Go's",
        );

        d = discovery(agent);
        x = xclient(d);
        await d.ready();
        await waitFor("both discovered", () => x!.servers.length === 2, 3000);
        await goAndDenoCallEachOther(reg, x, goKey, local);

        await go.kill("SIGKILL");
        await waitFor(
          "SIGKILLed Go server gone after its session lapsed",
          () => !x!.discovered.includes(goKey),
          5000,
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
