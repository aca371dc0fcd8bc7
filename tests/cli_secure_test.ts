// The `rpcx` command line and the admin page against registries as production secures them:
// etcd over mutual TLS with user/password, ZooKeeper with digest auth (nodes only the digest
// user may read), Consul over https with client certificates and an ACL token (default deny),
// Redis with a password (and with TLS and a client certificate). A Go rpcx server (Go's plugin,
// the same settings) and a Deno server are registered; `rpcx list`, `set` and `watch` are run with
// the credentials in the URL and, as flags and environment variables, beside it; `rpcx ui` is
// driven through its HTTP API. Without the credentials every command is refused.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Redis } from "ioredis";
import { Server, type ServiceDiscovery } from "@rpcx/core";
import type { RegisterPlugin } from "@rpcx/core/extend";
import { EtcdDiscovery, EtcdRegisterPlugin } from "@rpcx/core/etcd";
import { createClient } from "../src/registry/etcd/client.ts";
import { ZooKeeperDiscovery, ZooKeeperRegisterPlugin } from "@rpcx/core/zookeeper";
import { ConsulDiscovery, ConsulRegisterPlugin } from "@rpcx/core/consul";
import { RedisDiscovery, RedisRegisterPlugin } from "@rpcx/core/redis";
import type { TestCerts } from "./support/certs.ts";
import { startZooKeeper, zooKeeperMissing } from "./support/zookeeper_server.ts";
import { type RedisServer, startRedis } from "./support/redis_server.ts";
import { type GoRegistry, type GoServer, needGoPeer, startGoServer } from "./support/go_peer.ts";
import { CountedArith, MUL, uniqueBasePath, xclientOf } from "./support/registry_scenarios.ts";
import {
  clientTls,
  enableEtcdAuth,
  rawZk,
  redisTls,
  registryCertFlags as certFlags,
  startTlsConsul,
  startTlsEtcd,
  testCertsOrSkip,
} from "./support/secure_registries.ts";
import { freePort, needs, waitFor } from "./support/env.ts";
import { rpcx, spawnRpcx, uiServing } from "./support/rpcx_cli.ts";

/** Under a base path of its own (no test sees another's nodes). */
function basePath(name: string): string {
  return uniqueBasePath(`cli_${name}`);
}

/** One registry, secured, as the scenario sees it. */
interface SecureFixture {
  /** The registry URL with every credential in it (user info, `?ca=&cert=&key=&token=`). */
  url: string;
  /** The same without them, and the flags and environment variables that give them. */
  flags: { url: string; args: string[]; env: Record<string, string> };
  /** The secret that must never be shown (a password or token). */
  secret: string;
  /** A URL without (some of) the credentials; `refused` checks what `rpcx list` says. */
  bare: { url: string; refused(r: { code: number; out: string; err: string }): void };
  /** Go's side: the registry and the flags and environment of `rpcxpeer server`. */
  go?: { reg: GoRegistry; args: string[]; env?: Record<string, string> };
  /** Whether the Go server registers before the Deno one (ZooKeeper: Go creates the path). */
  goFirst?: boolean;
  /** The Deno server's plugin, with the credentials. */
  plugin(): RegisterPlugin;
  /** A discovery of Arith with the credentials. */
  discovery(): ServiceDiscovery;
  /** Reads `Arith/<key>` straight from the registry, with the credentials. */
  readNode(key: string): Promise<string | undefined>;
  /** Whether the registry notifies changes (`watch` then polls once a minute only). */
  notifies: boolean;
  /** Which server `set` edits: the Deno one (ZooKeeper: its node is the digest user's only). */
  target?: "deno" | "go";
}

async function secureScenario(fx: SecureFixture): Promise<void> {
  let go: GoServer | undefined;
  const startGo = async () => {
    if (fx.go && needGoPeer()) {
      go = await startGoServer(fx.go.reg, ["--services", "Arith", ...fx.go.args], fx.go.env);
    }
  };
  if (fx.goFirst) await startGo();
  const deno = new Server();
  deno.use(fx.plugin());
  const arith = new CountedArith();
  let denoKey = "";
  let watch: ReturnType<typeof spawnRpcx> | undefined;
  let ui: ReturnType<typeof spawnRpcx> | undefined;
  let d: ServiceDiscovery | undefined;
  let x: ReturnType<typeof xclientOf> | undefined;
  const codes: number[] = [];
  try {
    await deno.register(arith, "Arith", "weight=1");
    denoKey = `tcp@${await deno.serve("tcp", "127.0.0.1:0")}`;
    if (!fx.goFirst) await startGo();
    const keys = [denoKey, ...(go ? [go.key] : [])].sort();
    const listed = async (args: string[], env: Record<string, string> = {}) => {
      const r = await rpcx(["list", ...args, "Arith", "--json"], 60_000, env);
      return r.code === 0 ? (JSON.parse(r.out) as { key: string; metadata: string }[]) : [];
    };

    // list, with the credentials in the URL, then as flags and environment variables.
    await waitFor(
      "both servers listed (credentials in the URL)",
      async () =>
        JSON.stringify((await listed(["-r", fx.url])).map((n) => n.key)) === JSON.stringify(keys),
      30_000,
      300,
    );
    assert.deepEqual(
      (await listed(["-r", fx.flags.url, ...fx.flags.args], fx.flags.env)).map((n) => n.key),
      keys,
      "listed with the credentials as flags",
    );
    // call through the registry (the discovery with the same credentials).
    const call = await rpcx(["call", "-r", fx.url, "Arith.Mul", '{"A":10,"B":20}']);
    assert.equal(call.code, 0, call.err);
    assert.equal(call.out, '{"C":200}\n');
    // Without them: refused, one line.
    const bare = await rpcx(["list", "-r", fx.bare.url, "Arith"]);
    assert.match(bare.err, /^rpcx: [^\n]+\n$/, `one line: ${bare.err}`);
    fx.bare.refused(bare);
    // The secret is never shown: messages name the URL without it.
    const none = await rpcx(["list", "-r", fx.url, "Nope"]);
    assert.equal(none.code, 1, none.err);
    assert.match(none.err, /service Nope has no servers in /);
    assert.ok(!none.err.includes(fx.secret), `the secret shown: ${none.err}`);

    // watch (flags form): the servers, then the edits.
    watch = spawnRpcx(
      [
        "watch",
        "-r",
        fx.flags.url,
        ...fx.flags.args,
        "Arith",
        "--json",
        "-i",
        fx.notifies ? "60000" : "300",
      ],
      fx.flags.env,
    );
    const events = () =>
      watch!.out.split("\n").filter((l) => l !== "").map((l) =>
        JSON.parse(l) as Record<string, string>
      );
    await waitFor(
      "watch lists both servers",
      () => keys.every((k) => events().some((e) => e.type === "added" && e.key === k)),
      30_000,
    );

    // set (URL form): state=inactive written, the XClient stops choosing the server.
    d = fx.discovery();
    x = xclientOf(d);
    await waitFor("the XClient sees every server", () => x!.servers.length === keys.length, 15_000);
    const target = fx.target === "deno" || !go ? denoKey : go.key;
    const set = await rpcx(["set", "-r", fx.url, "Arith", target, "state=inactive"]);
    assert.equal(set.code, 0, set.err);
    assert.match((await fx.readNode(target))!, /(^|&)state=inactive(&|$)/);
    await waitFor("the XClient stops choosing it", () => !x!.servers.includes(target), 15_000);
    if (go) {
      for (let i = 0; i < 3; i++) assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
    }
    await waitFor(
      "watch saw the edit",
      () =>
        events().some((e) =>
          e.type === "changed" && e.key === target && /state=inactive/.test(e.metadata)
        ),
      fx.notifies ? 10_000 : 15_000,
    );
    // Without the credentials, the same edit is refused and the node keeps its value.
    const refusedSet = await rpcx([
      "set",
      "-r",
      fx.bare.url,
      "Arith",
      target,
      "state=active",
      "--settle",
      "0",
    ]);
    assert.notEqual(refusedSet.code, 0, refusedSet.out);
    assert.match((await fx.readNode(target))!, /state=inactive/);
    // And back, with the credentials as flags.
    const back = await rpcx(
      ["set", "-r", fx.flags.url, ...fx.flags.args, "Arith", target, "state=active"],
      60_000,
      fx.flags.env,
    );
    assert.equal(back.code, 0, back.err);
    await waitFor("the XClient chooses it again", () => x!.servers.includes(target), 15_000);

    // The admin page (flags form): lists both, edits a weight; the secret never in its API.
    const addr = `127.0.0.1:${freePort()}`;
    ui = spawnRpcx(
      ["ui", "-r", fx.flags.url, ...fx.flags.args, "--addr", addr, "-i", "300"],
      fx.flags.env,
    );
    await uiServing(ui!, `http://${addr}`);
    let snapshot = "";
    await waitFor(
      "the page lists both servers",
      async () => {
        snapshot = await (await fetch(`http://${addr}/api/nodes`)).text();
        const reg = JSON.parse(snapshot).registries[0] as {
          error?: string;
          nodes: { service: string; key: string }[];
        };
        return keys.every((k) => reg.nodes.some((n) => n.service === "Arith" && n.key === k));
      },
      20_000,
      200,
    );
    assert.ok(!snapshot.includes(fx.secret), "the page shows the secret");
    const res = await fetch(`http://${addr}/api/set`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        registry: fx.flags.url,
        service: "Arith",
        key: target,
        set: ["weight=7"],
      }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.match(body.metadata, /(^|&)weight=7(&|$)/);
    assert.match((await fx.readNode(target))!, /weight=7/);
  } finally {
    if (ui) codes.push(await ui.stop());
    if (watch) codes.push(await watch.stop());
    await x?.close();
    await d?.close();
    await go?.stop();
    await deno.close();
  }
  assert.deepEqual(codes, codes.map(() => 0), "ui and watch exit 0 on SIGINT");
}

/** `ca=…&cert=…&key=…` (without the client certificate: `ca` only). */
function certQuery(certs: TestCerts, client = true): string {
  const q = new URLSearchParams({ ca: certs.caPath });
  if (client) {
    q.set("cert", certs.client.certPath);
    q.set("key", certs.client.keyPath);
  }
  return q.toString();
}

// ---------------------------------------------------------------------------------------------

// Once aborted the Deno 2.9.6 process itself inside node:http2 (nghttp2 find_stream_on_goaway_func
// assertion, exit 134/139): etcd3 left each auth token's channel open, and when etcd stopped, its
// GOAWAY on those idle sessions hit a bug of Deno's node:http2 (README, issue 26). The operator's
// raw client is ours (createClient), so it too closes its token channel.
Deno.test("rpcx and rpcx ui on etcd with mutual TLS and user/password, Go and Deno servers", async () => {
  const certs = await testCertsOrSkip();
  if (!certs) return;
  const etcd = await startTlsEtcd(certs);
  if (!etcd) return void await certs.remove();
  const credentials = {
    rootCertificate: Buffer.from(certs.ca),
    certChain: Buffer.from(certs.client.cert),
    privateKey: Buffer.from(certs.client.key),
  };
  const auth = { username: "rpcx", password: "etcd-secret" };
  // users and auth on, through a client with the certificate (root first, as etcd wants); by
  // name: gRPC's TLS would send an IP address as the server name
  const byName = `https://localhost:${etcd.port}`;
  await enableEtcdAuth({ hosts: byName, credentials }, "rpcx", auth.password);
  const raw = createClient([byName], { credentials, auth });
  const base = basePath("etcd");
  const hostport = etcd.endpoint;
  try {
    await secureScenario({
      url: `etcd+tls://rpcx:${auth.password}@${hostport}${base}?${certQuery(certs)}`,
      flags: {
        url: `etcd+tls://${hostport}${base}`,
        args: [...certFlags(certs), "--registry-user", "rpcx"],
        env: { RPCX_REGISTRY_PASSWORD: auth.password },
      },
      secret: auth.password,
      // the client certificate but no user: etcd refuses (the certificate's CN is no user)
      bare: {
        url: `etcd+tls://${hostport}${base}?${certQuery(certs)}`,
        refused: (r) => {
          assert.equal(r.code, 3, r.err);
          assert.match(
            r.err,
            new RegExp(`^rpcx: etcd ${hostport}: .*(permission denied|user name)`, "i"),
          );
        },
      },
      go: {
        reg: { registry: "etcd", registryAddr: hostport, base },
        args: [
          ...certFlags(certs),
          "--registry-user",
          "rpcx",
          "--registry-password",
          auth.password,
          "--update-interval",
          "1s",
        ],
      },
      plugin: () =>
        new EtcdRegisterPlugin({
          servers: [etcd.url],
          basePath: base,
          updateInterval: 1000,
          credentials,
          auth,
        }),
      discovery: () => new EtcdDiscovery(base, "Arith", [etcd.url], { credentials, auth }),
      readNode: async (key) => (await raw.get(`${base}/Arith/${key}`).string()) ?? undefined,
      notifies: true,
    });
    // No client certificate at all: the TLS handshake is refused.
    const noCert = await rpcx([
      "list",
      "-r",
      `etcd+tls://rpcx:x@${hostport}${base}?${certQuery(certs, false)}`,
    ]);
    assert.equal(noCert.code, 3, noCert.err);
  } finally {
    raw.close();
    await etcd.stop();
    await certs.remove();
  }
});

Deno.test("rpcx and rpcx ui on ZooKeeper with digest auth (nodes only the digest user reads), Go and Deno servers", async () => {
  if (!needs("ZooKeeper", zooKeeperMissing())) return;
  const zk = await startZooKeeper({ tickTime: 200 });
  if (!zk) return;
  const auth = { username: "rpcx", password: "zk-secret" };
  // node-zookeeper-client with digest auth, for reading nodes the way an operator would
  const raw = await rawZk(zk.connectString, `${auth.username}:${auth.password}`);
  const base = basePath("zk");
  try {
    await secureScenario({
      url: `zookeeper://rpcx:${auth.password}@${zk.connectString}${base}`,
      flags: {
        url: `zookeeper://${zk.connectString}${base}`,
        args: ["--registry-user", "rpcx"],
        env: { RPCX_REGISTRY_PASSWORD: auth.password },
      },
      secret: auth.password,
      bare: {
        url: `zookeeper://${zk.connectString}${base}`,
        refused: (r) => {
          assert.equal(r.code, 3, r.err);
          assert.match(r.err, /NO_AUTH.*give the digest user and password/);
        },
      },
      // Go's plugin has no auth: it registers first, creating the paths with open ACLs; the
      // Deno server's node is then the digest user's alone (not even world READ).
      goFirst: true,
      go: {
        reg: { registry: "zookeeper", registryAddr: zk.connectString, base },
        args: ["--update-interval", "1s"],
      },
      plugin: () =>
        new ZooKeeperRegisterPlugin({
          servers: [zk.connectString],
          basePath: base,
          updateInterval: 1000,
          sessionTimeout: 4000,
          auth: { ...auth, worldReadable: false },
        }),
      discovery: () => new ZooKeeperDiscovery(base, "Arith", [zk.connectString], { auth }),
      readNode: (key) =>
        new Promise((resolve, reject) =>
          raw.getData(`${base}/Arith/${key}`, (e, data) => {
            if (e?.code === -101) resolve(undefined);
            else if (e) reject(new Error(`getData: ${e.code}`));
            else resolve(data ? data.toString("utf8") : "");
          })
        ),
      notifies: false,
      target: "deno",
    });
  } finally {
    raw.close();
    await zk.dispose();
  }
});

Deno.test("rpcx and rpcx ui on Consul over https with client certificates and an ACL token, Go and Deno servers", async () => {
  const certs = await testCertsOrSkip();
  if (!certs) return;
  const httpsPort = freePort();
  const token = "rpcx-root-token";
  const agent = await startTlsConsul(certs, httpsPort, token);
  if (!agent) return void await certs.remove();
  const tls = clientTls(certs);
  const hostport = `127.0.0.1:${httpsPort}`;
  const base = basePath("consul");
  try {
    await secureScenario({
      url: `consul+tls://${hostport}${base}?${certQuery(certs)}&token=${token}`,
      flags: {
        url: `consul+tls://${hostport}${base}`,
        args: certFlags(certs),
        env: { RPCX_REGISTRY_TOKEN: token },
      },
      secret: token,
      // TLS but no token: the ACLs hide every key (Consul filters, it does not refuse a list)
      bare: {
        url: `consul+tls://${hostport}${base}?${certQuery(certs)}`,
        refused: (r) => {
          assert.equal(r.code, 1, r.err);
          assert.match(r.err, /service Arith has no servers/);
        },
      },
      go: {
        reg: { registry: "consul", registryAddr: hostport, base },
        args: [...certFlags(certs), "--update-interval", "2s"],
        // Go's Consul client (api.DefaultConfig, under libkv) takes the token from here
        env: { CONSUL_HTTP_TOKEN: token },
      },
      plugin: () =>
        new ConsulRegisterPlugin({
          servers: [`https://${hostport}`],
          basePath: base,
          updateInterval: 2000,
          expired: 2000,
          tls,
          token,
        }),
      discovery: () =>
        new ConsulDiscovery(base, "Arith", [`https://${hostport}`], { tls, token, waitMs: 2000 }),
      readNode: async (key) => {
        const r = await agent.api(`/v1/kv/${base.slice(1)}/Arith/${key}`);
        if (r.status === 404) {
          await r.body?.cancel();
          return undefined;
        }
        const [e] = await r.json() as { Value: string | null }[];
        return Buffer.from(e.Value ?? "", "base64").toString("utf8");
      },
      notifies: true,
    });
  } finally {
    await agent.stop();
    await certs.remove();
  }
});

/** The value of Redis key `key`, decoded from libkv's JSON; undefined when there is none. */
async function libkvValue(raw: Redis, key: string): Promise<string | undefined> {
  const v = await raw.get(key);
  if (v === null) return undefined;
  return Buffer.from(JSON.parse(v).Value, "base64").toString("utf8");
}

/**
 * The Redis side of a scenario: our plugin and discovery with `options` (password, TLS), the node
 * read back through `raw`, keyspace notifications on.
 */
function redisSide(
  redis: RedisServer,
  raw: Redis,
  base: string,
  options: { password: string; tls?: ReturnType<typeof clientTls> },
) {
  return {
    plugin: () =>
      new RedisRegisterPlugin({
        servers: [redis.endpoint],
        basePath: base,
        updateInterval: 1000,
        ...options,
      }),
    discovery: () => new RedisDiscovery(base, "Arith", [redis.endpoint], options),
    readNode: (key: string) => libkvValue(raw, `/${base}/Arith/${key}`),
    notifies: true,
  };
}

Deno.test("rpcx and rpcx ui on Redis with a password, Go and Deno servers", async () => {
  const password = "redis-secret";
  const redis = await startRedis({ password });
  if (!redis) return;
  const raw = new Redis({ host: "127.0.0.1", port: redis.port, password, lazyConnect: true });
  raw.on("error", () => {});
  const base = basePath("redis");
  try {
    await secureScenario({
      url: `redis://:${password}@${redis.endpoint}${base}`,
      flags: {
        url: `redis://${redis.endpoint}${base}`,
        args: [],
        env: { RPCX_REGISTRY_PASSWORD: password },
      },
      secret: password,
      bare: {
        url: `redis://${redis.endpoint}${base}`,
        refused: (r) => {
          assert.equal(r.code, 3, r.err);
          assert.match(r.err, /^rpcx: redis 127\.0\.0\.1:\d+: .*NOAUTH/);
        },
      },
      go: {
        reg: { registry: "redis", registryAddr: redis.endpoint, base },
        args: ["--registry-password", password, "--update-interval", "1s"],
      },
      ...redisSide(redis, raw, base, { password }),
    });
    // The edits kept the node's TTL (it still expires with its server).
    const keys = await raw.keys(`/${base}/Arith/*`);
    assert.ok(keys.length >= 1);
    for (const k of keys) assert.ok((await raw.pttl(k)) > 0, `${k} lost its TTL`);
  } finally {
    raw.disconnect();
    await redis.stop();
  }
});

Deno.test("rpcx and rpcx ui on Redis over TLS with a client certificate and a password (Go's libkv has no TLS: Deno server)", async () => {
  const certs = await testCertsOrSkip();
  if (!certs) return;
  const password = "redis-tls-secret";
  const redis = await startRedis({ password, tls: redisTls(certs) });
  if (!redis) return void await certs.remove();
  const tls = clientTls(certs);
  const raw = new Redis({
    host: "127.0.0.1",
    port: redis.port,
    password,
    tls: { ...tls, servername: "localhost" },
    lazyConnect: true,
  });
  raw.on("error", () => {});
  const base = basePath("rediss");
  try {
    await secureScenario({
      url: `rediss://:${password}@${redis.endpoint}${base}?${certQuery(certs)}`,
      flags: {
        url: `rediss://${redis.endpoint}${base}`,
        args: certFlags(certs),
        env: { RPCX_REGISTRY_PASSWORD: password },
      },
      secret: password,
      // the password but no client certificate: the handshake is refused
      bare: {
        url: `rediss://:${password}@${redis.endpoint}${base}?${certQuery(certs, false)}`,
        refused: (r) => assert.equal(r.code, 3, r.err),
      },
      ...redisSide(redis, raw, base, { password, tls }),
    });
  } finally {
    raw.disconnect();
    await redis.stop();
    await certs.remove();
  }
});
