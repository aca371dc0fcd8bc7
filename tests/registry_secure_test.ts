// Registries as production runs them: etcd over mutual TLS and with user/password (an auth
// token that expires while idle must never surface as "invalid auth token"), ZooKeeper with
// digest auth and ACLs, Consul over https. Real registries (tests/support), certificates made
// by openssl (tests/support/certs.ts), and the Go rpcx peer with the same settings.
import assert from "node:assert/strict";
import { CacheDiscovery, type ServiceDiscovery } from "@rpcx/core";
import { openRegistry } from "@rpcx/core/cli";
import { type EtcdClientOptions, EtcdDiscovery, EtcdRegisterPlugin } from "@rpcx/core/etcd";
import { ZooKeeperDiscovery, ZooKeeperRegisterPlugin } from "@rpcx/core/zookeeper";
import { type ConsulClientOptions, ConsulDiscovery, ConsulRegisterPlugin } from "@rpcx/core/consul";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import type { TestCerts } from "./support/certs.ts";
import { startEtcd } from "./support/etcd_server.ts";
import { startZooKeeper, zooKeeperMissing } from "./support/zookeeper_server.ts";
import { needGoPeer, runGoClient } from "./support/go_peer.ts";
import { MUL, serveCountedArith, uniqueBasePath, xclientOf } from "./support/registry_scenarios.ts";
import {
  closeAll,
  closeRawZk,
  enableEtcdAuth,
  goBothWays,
  outages,
  rawZk,
  registryCertFlags,
  startTlsConsul,
  startTlsEtcd,
  testCertsOrSkip,
} from "./support/secure_registries.ts";
import { delay, freePort, needs, waitFor } from "./support/env.ts";
import { connectionsTo, procSocketsMissing } from "./support/sockets.ts";

/** Under a base path of its own (no test sees another's nodes). */
const basePath = uniqueBasePath;

/** A Deno server with Arith registered through `plugin`, listening on a free loopback port. */
const serveArith = serveCountedArith<
  EtcdRegisterPlugin | ZooKeeperRegisterPlugin | ConsulRegisterPlugin
>;

function tlsOf(certs: TestCerts, client = true): EtcdClientOptions["credentials"] {
  return {
    rootCertificate: certs.ca,
    ...(client
      ? {
        certChain: new TextEncoder().encode(certs.client.cert),
        privateKey: new TextEncoder().encode(certs.client.key),
      }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// etcd

Deno.test("etcd over mutual TLS: register, discover, call; no client certificate or a wrong CA is an outage, never a list", async () => {
  const certs = await testCertsOrSkip();
  if (!certs) return;
  const etcd = await startTlsEtcd(certs);
  if (!etcd) return;
  const base = basePath("etcd_tls");
  const plugin = new EtcdRegisterPlugin({
    servers: [etcd.url],
    basePath: base,
    updateInterval: 1000,
    credentials: tlsOf(certs),
  });
  const pluginOutages = outages(plugin);
  let s: Awaited<ReturnType<typeof serveArith>> | undefined;
  let d: ServiceDiscovery | undefined;
  let noCert: ServiceDiscovery | undefined;
  let wrongCa: ServiceDiscovery | undefined;
  let x: ReturnType<typeof xclientOf> | undefined;
  try {
    s = await serveArith(plugin);
    d = new EtcdDiscovery(base, "Arith", [etcd.url], { credentials: tlsOf(certs) });
    x = xclientOf(d);
    await waitFor("the server listed", () => d!.getServices().length === 1, 10_000);
    assert.deepEqual(await x.call("Mul", MUL), { C: 200 });

    noCert = new EtcdDiscovery(base, "Arith", [etcd.url], {
      credentials: tlsOf(certs, false),
      retryInitialMs: 100,
      dialTimeout: 1000,
    });
    const noCertOutages = outages(noCert);
    wrongCa = new EtcdDiscovery(base, "Arith", [etcd.url], {
      credentials: { ...tlsOf(certs)!, rootCertificate: certs.rogueCa },
      retryInitialMs: 100,
      dialTimeout: 1000,
    });
    const wrongCaOutages = outages(wrongCa);
    await waitFor("outages without a client certificate", () => noCertOutages.length >= 2, 10_000);
    await waitFor("outages with a wrong CA", () => wrongCaOutages.length >= 2, 10_000);
    assert.deepEqual(noCert.getServices(), []);
    assert.deepEqual(wrongCa.getServices(), []);

    await plugin.refresh();
    assert.deepEqual(pluginOutages, []);

    if (needGoPeer()) {
      const reg = { registry: "etcd", registryAddr: etcd.endpoint, base };
      await goBothWays(reg, registryCertFlags(certs), d);
    }
  } finally {
    await closeAll(x, d, noCert, wrongCa);
    await s?.server.close();
    await etcd.stop();
    await certs.remove();
  }
});

/** What etcd answers (gRPC gateway) to a read with a token that sat unused for 2.5 s. */
async function staleTokenAnswer(endpoint: string, name: string, password: string): Promise<string> {
  const res = await fetch(`http://${endpoint}/v3/auth/authenticate`, {
    method: "POST",
    body: JSON.stringify({ name, password }),
  });
  const { token } = await res.json() as { token: string };
  await delay(2500);
  const read = await fetch(`http://${endpoint}/v3/kv/range`, {
    method: "POST",
    headers: { Authorization: token },
    body: JSON.stringify({ key: btoa("x") }),
  });
  return await read.text();
}

Deno.test("etcd with user/password: a token that expires while idle never fails a call, a refresh or a watch", async () => {
  // Simple tokens live 1 s after their last use: every idle gap below outlives them.
  const etcd = await startEtcd({ args: ["--auth-token-ttl=1"] });
  if (!etcd) return;
  await enableEtcdAuth({ hosts: etcd.endpoint }, "rpcx", "rpcx-secret");
  // The premise: etcd really drops a token left idle for longer than its TTL.
  assert.match(await staleTokenAnswer(etcd.endpoint, "rpcx", "rpcx-secret"), /invalid auth token/);
  const auth = { username: "rpcx", password: "rpcx-secret" };
  const base = basePath("etcd_auth");
  // updateInterval 3 s: the plugin is idle longer than the token lives between refreshes.
  const authPlugin = () =>
    new EtcdRegisterPlugin({
      servers: [etcd.endpoint],
      basePath: base,
      updateInterval: 3000,
      auth,
    });
  const plugin = authPlugin();
  const pluginOutages = outages(plugin);
  let s: Awaited<ReturnType<typeof serveArith>> | undefined;
  let s2: Awaited<ReturnType<typeof serveArith>> | undefined;
  let d: EtcdDiscovery | undefined;
  let x: ReturnType<typeof xclientOf> | undefined;
  try {
    s = await serveArith(plugin);
    d = new EtcdDiscovery(base, "Arith", [etcd.endpoint], { auth, resyncInterval: 1500 });
    const discoveryOutages = outages(d);
    x = xclientOf(d);
    await waitFor("the server listed", () => d!.getServices().length === 1, 10_000);
    assert.deepEqual(await x.call("Mul", MUL), { C: 200 });

    // Idle past the token's life, twice over: refreshes (3 s) and re-lists (1.5 s) run on
    // expired tokens in between.
    await delay(7000);
    // A second server registers after the idle gap; the watch (opened on an old token) sees it.
    const plugin2 = authPlugin();
    const plugin2Outages = outages(plugin2);
    s2 = await serveArith(plugin2);
    await waitFor("the second server listed", () => d!.getServices().length === 2, 10_000);
    for (let i = 0; i < 4; i++) assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
    await delay(2500);
    await plugin.refresh();
    await plugin2.refresh();

    assert.deepEqual(pluginOutages, [], "the first plugin never failed");
    assert.deepEqual(plugin2Outages, [], "the second plugin never failed");
    assert.deepEqual(discoveryOutages, [], "the discovery never failed");

    // Wrong password: a typed outage, not a crash or a hang.
    const bad = new EtcdDiscovery(base, "Arith", [etcd.endpoint], {
      auth: { username: "rpcx", password: "wrong" },
      retryInitialMs: 100,
    });
    const badOutages = outages(bad);
    try {
      await waitFor("an outage for a wrong password", () => badOutages.length >= 1, 10_000);
      assert.match(badOutages[0], /authentication failed/i);
      assert.deepEqual(bad.getServices(), []);
    } finally {
      await bad.close();
    }
    // Graceful shutdown unregisters with the (re-authenticated) token.
    await s2.server.shutdown({ timeout: 2000 });
    s2 = undefined;
    await waitFor("the second server gone", () => d!.getServices().length === 1, 10_000);

    // etcd restarts: the tokens it issued are gone (simple tokens live in its memory), so the
    // lease keep-alive, the watch and the reads come back with a stale one. Outages while it is
    // down are expected; none may be "invalid auth token", and both sides recover by themselves.
    const allOutages = () => [...pluginOutages, ...discoveryOutages];
    await etcd.restart({ downMs: 500 });
    const plugin3 = authPlugin();
    const plugin3Outages = outages(plugin3);
    s2 = await serveArith(plugin3);
    await waitFor(
      "a server registered after the restart is listed",
      () => d!.getServices().length === 2,
      15_000,
    );
    await waitFor("the first plugin refreshes again", async () => {
      await plugin.refresh();
      return plugin.failures === 0;
    }, 15_000);
    for (let i = 0; i < 4; i++) assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
    const stale = [...allOutages(), ...plugin3Outages].filter((m) => /invalid auth token/i.test(m));
    assert.deepEqual(stale, []);
    assert.deepEqual(plugin3Outages, []);

    if (needGoPeer()) {
      const authFlags = ["--registry-user", "rpcx", "--registry-password", "rpcx-secret"];
      await goBothWays({ registry: "etcd", registryAddr: etcd.endpoint, base }, authFlags, d);
    }
  } finally {
    await closeAll(x, d);
    await s2?.server.close();
    await s?.server.close();
    await etcd.stop();
  }
});

Deno.test("etcd with user/password: once closed, the plugin, a discovery (bare and in a CacheDiscovery) and the CLI's operator leave no connection to etcd, tokens fetched again and again included", async () => {
  // etcd3 fetched each auth token over a channel of its own and never closed it: every client
  // with a user kept idle HTTP/2 connections to etcd after close(), and when etcd stopped, its
  // GOAWAY on them could abort the Deno process (node:http2, issue 26).
  if (!needs("/proc sockets", procSocketsMissing())) return;
  // Tokens live 1 s after their last use: the idle gap below makes every client fetch new ones.
  const etcd = await startEtcd({ args: ["--auth-token-ttl=1"] });
  if (!etcd) return;
  // Connections of this process before any client: startEtcd's health probe (fetch keeps it).
  const before = connectionsTo(etcd.port);
  await enableEtcdAuth({ hosts: etcd.endpoint }, "rpcx", "rpcx-secret");
  const auth = { username: "rpcx", password: "rpcx-secret" };
  const base = basePath("etcd_conns");
  const dir = await Deno.makeTempDir({ prefix: "rpcx-etcd-conns-" });
  let s: Awaited<ReturnType<typeof serveArith>> | undefined;
  let d: EtcdDiscovery | undefined;
  let cached: CacheDiscovery | undefined;
  let op: Awaited<ReturnType<typeof openRegistry>> | undefined;
  const stopWatch = new AbortController();
  try {
    s = await serveArith(
      new EtcdRegisterPlugin({
        servers: [etcd.endpoint],
        basePath: base,
        updateInterval: 1000,
        auth,
      }),
    );
    d = new EtcdDiscovery(base, "Arith", [etcd.endpoint], { auth, resyncInterval: 500 });
    cached = new CacheDiscovery(
      0,
      `${dir}/cache.json`,
      new EtcdDiscovery(base, "Arith", [etcd.endpoint], { auth, resyncInterval: 500 }),
    );
    op = await openRegistry(`etcd://rpcx:rpcx-secret@${etcd.endpoint}${base}`);
    await waitFor(
      "both discoveries list the server",
      () => d!.getServices().length === 1 && cached!.getServices().length === 1,
      10_000,
    );
    assert.equal((await op.list("Arith")).length, 1);
    const watching = op.changed!(stopWatch.signal).catch(() => {}); // opens the operator's watch
    // Idle past the tokens' life twice over: refreshes, re-lists and lists fetch new ones.
    await delay(2500);
    assert.equal((await op.list("Arith")).length, 1);
    await delay(1000);
    assert.ok(connectionsTo(etcd.port) > before, "the clients are connected");

    stopWatch.abort();
    await watching;
    await op.close();
    op = undefined;
    await cached.close();
    cached = undefined;
    await d.close();
    d = undefined;
    await s.server.close();
    s = undefined;
    // Closing ends every session at once (the grace is for the FIN and GOAWAY to go out).
    await waitFor(
      "no connection to etcd left once every client is closed",
      () => connectionsTo(etcd.port) <= before,
      3000,
      50,
    ).catch((e) => {
      throw new Error(`${e.message}: ${connectionsTo(etcd.port) - before} still open`);
    });
  } finally {
    stopWatch.abort();
    await op?.close();
    await closeAll(cached, d);
    await s?.server.close();
    await etcd.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

// ---------------------------------------------------------------------------------------------
// ZooKeeper

/** The ZooKeeper error code of an operation (0: it worked). */
function codeOf(run: (cb: (e: { code: number } | null) => void) => void): Promise<number> {
  return new Promise((resolve) => run((e) => resolve(e ? e.code : 0)));
}

Deno.test("zookeeper with digest auth: nodes are digest:user ALL + world READ; others cannot change them; discoveries and Go's read them", async () => {
  if (!needs("ZooKeeper", zooKeeperMissing())) return;
  const zk = await startZooKeeper({ tickTime: 200 });
  if (!zk) return;
  const base = basePath("zk_auth");
  const auth = { username: "rpcx", password: "zk-secret" };
  const plugin = new ZooKeeperRegisterPlugin({
    servers: [zk.connectString],
    basePath: base,
    updateInterval: 1000,
    sessionTimeout: 4000,
    auth,
  });
  const pluginOutages = outages(plugin);
  let s: Awaited<ReturnType<typeof serveArith>> | undefined;
  let s2: Awaited<ReturnType<typeof serveArith>> | undefined;
  let open: ZooKeeperDiscovery | undefined;
  let authed: ZooKeeperDiscovery | undefined;
  let anonymous: ZooKeeperDiscovery | undefined;
  let x: ReturnType<typeof xclientOf> | undefined;
  const stranger = await rawZk(zk.connectString);
  const owner = await rawZk(zk.connectString, "rpcx:zk-secret");
  try {
    s = await serveArith(plugin);
    const node = `${base}/Arith/${s.key}`;
    const digest = `rpcx:${createHash("sha1").update("rpcx:zk-secret").digest("base64")}`;
    // (ZooKeeper shows the digest only to a client with ADMIN on the node: the owner.)
    for (const path of [base, `${base}/Arith`, node]) {
      const acls = await new Promise<{ permission: number; id: { scheme: string; id: string } }[]>(
        (resolve, reject) => owner.getACL(path, (e, a) => (e ? reject(e) : resolve(a!))),
      );
      assert.deepEqual(
        acls.map((a) => `${a.id.scheme}:${a.id.id}=${a.permission}`).sort(),
        [`digest:${digest}=31`, "world:anyone=1"],
        path,
      );
    }
    // Anyone reads; only the digest user changes or deletes (-102: NOAUTH).
    assert.equal(await codeOf((cb) => stranger.getData(node, cb)), 0);
    assert.equal(
      await codeOf((cb) => stranger.setData(node, Buffer.from("state=inactive"), -1, cb)),
      -102,
    );
    assert.equal(await codeOf((cb) => stranger.remove(node, -1, cb)), -102);
    assert.equal(await codeOf((cb) => owner.setData(node, Buffer.from(""), -1, cb)), 0);

    // A discovery without credentials reads world-readable nodes and calls.
    open = new ZooKeeperDiscovery(base, "Arith", [zk.connectString]);
    x = xclientOf(open);
    await waitFor("listed without credentials", () => open!.getServices().length === 1, 10_000);
    assert.deepEqual(await x.call("Mul", MUL), { C: 200 });

    // Nodes that are not world readable: a discovery without credentials gets NOAUTH (an
    // outage, no list), one with them lists the server.
    const privateBase = basePath("zk_private");
    const plugin2 = new ZooKeeperRegisterPlugin({
      servers: [zk.connectString],
      basePath: privateBase,
      updateInterval: 1000,
      auth: { ...auth, worldReadable: false },
    });
    s2 = await serveArith(plugin2);
    anonymous = new ZooKeeperDiscovery(privateBase, "Arith", [zk.connectString], {
      retryInitialMs: 100,
      retryMaxMs: 200,
    });
    const anonymousOutages = outages(anonymous);
    authed = new ZooKeeperDiscovery(privateBase, "Arith", [zk.connectString], { auth });
    await waitFor("listed with credentials", () => authed!.getServices().length === 1, 10_000);
    await waitFor("NOAUTH outage without them", () => anonymousOutages.length >= 1, 10_000);
    assert.match(anonymousOutages[0], /NO_AUTH|-102/);
    assert.deepEqual(anonymous.getServices(), []);

    await plugin.refresh();
    assert.deepEqual(pluginOutages, []);

    // ZooKeeper restarts: the plugin's client reconnects and authenticates again, so it still
    // may create under its base path (whose ACL admits only the digest user).
    await zk.restart(300);
    await waitFor("the plugin writes again", async () => {
      try {
        await plugin.register("Echo", {}, "");
        return true;
      } catch {
        return false;
      }
    }, 15_000);
    const echoNode = `${base}/Echo/${s.key}`;
    const stranger2 = await rawZk(zk.connectString);
    try {
      assert.equal(await codeOf((cb) => stranger2.getData(echoNode, cb)), 0);
      assert.equal(await codeOf((cb) => stranger2.remove(echoNode, -1, cb)), -102);
    } finally {
      await closeRawZk(stranger2);
    }

    if (needGoPeer()) {
      // Go rpcx's ZooKeeper discovery has no auth setting; world READ lets it find the server.
      const gc = await runGoClient(
        { registry: "zookeeper", registryAddr: zk.connectString, base },
        [
          "--count",
          "2",
        ],
      );
      assert.equal(gc.code, 0, gc.out + gc.err);
      assert.equal(gc.out.match(/10 \* 20 = 200/g)?.length, 2, gc.out);
    }
  } finally {
    await closeAll(x, open, authed, anonymous);
    await s2?.server.close();
    await s?.server.close();
    await closeRawZk(stranger);
    await closeRawZk(owner);
    await zk.dispose();
  }
});

// ---------------------------------------------------------------------------------------------
// Consul

Deno.test("consul over https with client certificates: register, discover, call; no certificate, a wrong CA or plain http is an outage", async () => {
  const certs = await testCertsOrSkip();
  if (!certs) return;
  const httpsPort = freePort();
  const agent = await startTlsConsul(certs, httpsPort);
  if (!agent) return;
  const url = `https://127.0.0.1:${httpsPort}`;
  const tls: ConsulClientOptions["tls"] = {
    ca: certs.ca,
    cert: new TextEncoder().encode(certs.client.cert),
    key: new TextEncoder().encode(certs.client.key),
  };
  const base = basePath("consul_tls").slice(1);
  const plugin = new ConsulRegisterPlugin({
    servers: [url],
    basePath: base,
    updateInterval: 2000,
    expired: 2000,
    tls,
  });
  const pluginOutages = outages(plugin);
  let s: Awaited<ReturnType<typeof serveArith>> | undefined;
  let d: ServiceDiscovery | undefined;
  let x: ReturnType<typeof xclientOf> | undefined;
  const bad: ServiceDiscovery[] = [];
  try {
    s = await serveArith(plugin);
    d = new ConsulDiscovery(base, "Arith", [url], { tls, waitMs: 2000 });
    x = xclientOf(d);
    await waitFor("the server listed", () => d!.getServices().length === 1, 10_000);
    assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
    // what Consul stored is what a plain reader sees (the same agent, its http port)
    const kv = await agent.api(`/v1/kv/${base}/Arith/${s.key}`);
    assert.equal(kv.status, 200);
    await kv.body?.cancel();

    const retry = { retryInitialMs: 100, retryMaxMs: 200, requestTimeout: 2000 };
    const cases: [string, ServiceDiscovery][] = [
      [
        "no client certificate",
        new ConsulDiscovery(base, "Arith", [url], { ...retry, tls: { ca: tls.ca } }),
      ],
      [
        "a wrong CA",
        new ConsulDiscovery(base, "Arith", [url], {
          ...retry,
          tls: { ...tls, ca: certs.rogueCa },
        }),
      ],
      [
        "plain http to the https port",
        new ConsulDiscovery(base, "Arith", [`127.0.0.1:${httpsPort}`], retry),
      ],
    ];
    for (const [what, b] of cases) {
      bad.push(b);
      const seen = outages(b);
      await waitFor(`an outage with ${what}`, () => seen.length >= 2, 10_000);
      assert.deepEqual(b.getServices(), [], what);
    }

    await plugin.refresh();
    assert.deepEqual(pluginOutages, []);

    if (needGoPeer()) {
      const reg = { registry: "consul", registryAddr: `127.0.0.1:${httpsPort}`, base };
      await goBothWays(reg, registryCertFlags(certs), d, ["--update-interval", "10s"]);
    }
  } finally {
    await closeAll(x, d, ...bad);
    await s?.server.close();
    await agent.stop();
    await certs.remove();
  }
});
