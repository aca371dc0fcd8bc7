// The Redis registry as production runs it: a password (`requirepass`, Go's store.Config
// Password), ACL users (a discovery user that may not run CONFIG), TLS with client
// certificates, and a database other than 0 (Go's store.Config Bucket). Real redis-server
// (tests/support/redis_server.ts), certificates made by openssl, and the Go peer where Go's
// libkv supports the setting (password, database; it refuses TLS and has no user name).
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { type Logger, setLogger } from "@rpcx/core";
import {
  type RedisClientOptions,
  RedisDiscovery,
  RedisError,
  RedisRegisterPlugin,
} from "@rpcx/core/redis";
import { type RedisServer, startRedis } from "./support/redis_server.ts";
import { needGoPeer, runGoClient } from "./support/go_peer.ts";
import { MUL, serveCountedArith, START_CONTEXT, xclientOf } from "./support/registry_scenarios.ts";
import {
  clientTls,
  closeAll,
  goBothWays,
  outages,
  redisTls,
  testCertsOrSkip,
} from "./support/secure_registries.ts";
import { delay, waitFor } from "./support/env.ts";

const BASE = "/rpcx_test";

/** Arith served on a free port, registered in `redis` under BASE with `options`. */
async function serveArith(redis: RedisServer, options: RedisClientOptions & { db?: number }) {
  return await serveCountedArith(
    new RedisRegisterPlugin({
      servers: [redis.endpoint],
      basePath: BASE,
      updateInterval: 1000,
      ...options,
    }),
  );
}

Deno.test("redis with a password: register, discover, call; a wrong or no password is a typed outage, never a list; Go with the password both ways", async () => {
  const redis = await startRedis({ password: "rpcx-secret" });
  if (!redis) return;
  let s: Awaited<ReturnType<typeof serveArith>> | undefined;
  let d: RedisDiscovery | undefined;
  let wrong: RedisDiscovery | undefined;
  let none: RedisDiscovery | undefined;
  let x: ReturnType<typeof xclientOf> | undefined;
  try {
    s = await serveArith(redis, { password: "rpcx-secret" });
    const pluginOutages = outages(s.plugin);
    d = new RedisDiscovery(BASE, "Arith", [redis.endpoint], { password: "rpcx-secret" });
    x = xclientOf(d);
    await waitFor("the server listed", () => d!.getServices().length === 1, 5000);
    assert.equal(d.watching, true);
    assert.deepEqual(await x.call("Mul", MUL), { C: 200 });

    wrong = new RedisDiscovery(BASE, "Arith", [redis.endpoint], {
      password: "wrong",
      retryInitialMs: 100,
    });
    none = new RedisDiscovery(BASE, "Arith", [redis.endpoint], { retryInitialMs: 100 });
    const wrongOutages = outages(wrong);
    const noneOutages = outages(none);
    await waitFor("outages for a wrong password", () => wrongOutages.length >= 2, 5000);
    await waitFor("outages without a password", () => noneOutages.length >= 2, 5000);
    assert.match(wrongOutages[0], /^redis: .*WRONGPASS/);
    assert.match(noneOutages[0], /^redis: .*NOAUTH/);
    assert.deepEqual(wrong.getServices(), []);
    assert.deepEqual(none.getServices(), []);

    const bad = new RedisRegisterPlugin({
      servers: [redis.endpoint],
      basePath: BASE,
      password: "wrong",
    });
    await assert.rejects(
      bad.start(START_CONTEXT),
      (e: Error) => e instanceof RedisError && /WRONGPASS/.test(e.message),
    );
    await bad.stop();

    await s.plugin.refresh();
    assert.deepEqual(pluginOutages, []);
    if (needGoPeer()) {
      const reg = { registry: "redis", registryAddr: redis.endpoint, base: BASE };
      await goBothWays(reg, ["--registry-password", "rpcx-secret"], d);
    }
  } finally {
    await closeAll(x, d, wrong, none);
    await s?.server.close();
    await redis.stop();
  }
});

Deno.test("redis with ACL users: the plugin as a full user, the discovery as a user without CONFIG (subscribes and polls, logs why once)", async () => {
  const redis = await startRedis({
    users: [
      "user default off",
      "user rpcx on >rpcx-secret ~* &* +@all",
      // SCAN, MGET and PSUBSCRIBE only: no CONFIG, so notifications cannot be checked
      "user reader on >reader-secret ~//rpcx_test/* &* +scan +mget +psubscribe +ping",
    ],
  });
  if (!redis) return;
  const warnings: string[] = [];
  const quiet: Logger = {
    debug: () => {},
    info: () => {},
    warn: (msg, f) => warnings.push(`${msg} ${JSON.stringify(f)}`),
    error: () => {},
  };
  const previous = setLogger(quiet);
  let a: Awaited<ReturnType<typeof serveArith>> | undefined;
  let b: Awaited<ReturnType<typeof serveArith>> | undefined;
  let d: RedisDiscovery | undefined;
  let wrongUser: RedisDiscovery | undefined;
  let x: ReturnType<typeof xclientOf> | undefined;
  try {
    const rpcx = { username: "rpcx", password: "rpcx-secret" };
    a = await serveArith(redis, rpcx);
    d = new RedisDiscovery(BASE, "Arith", [redis.endpoint], {
      username: "reader",
      password: "reader-secret",
      pollInterval: 300,
    });
    const discoveryOutages = outages(d);
    x = xclientOf(d);
    await waitFor("the server listed", () => d!.getServices().length === 1, 5000);
    assert.equal(d.watching, false, "CONFIG refused: notifications cannot be relied on");
    assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
    b = await serveArith(redis, rpcx);
    await waitFor("the second server listed", () => d!.getServices().length === 2, 3000);
    await b.server.shutdown({ timeout: 1000 });
    b = undefined;
    await waitFor("the second server gone", () => d!.getServices().length === 1, 3000);
    assert.deepEqual(discoveryOutages, []);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /keyspace notifications.*NOPERM/);

    // a user that may not write: start() fails with Redis's refusal and leaves no connection
    // behind
    const admin = new Redis({ host: "127.0.0.1", port: redis.port, ...rpcx });
    admin.on("error", () => {});
    const readers = async () =>
      ((await admin.client("LIST")) as string).split("\n").filter((l) => / user=reader /.test(l))
        .length;
    try {
      const before = await readers();
      const reader = new RedisRegisterPlugin({
        servers: [redis.endpoint],
        basePath: BASE,
        username: "reader",
        password: "reader-secret",
      });
      await assert.rejects(
        reader.start(START_CONTEXT),
        (e: Error) =>
          e instanceof RedisError && e.reply === "NOPERM" && /^redis: SET: /.test(e.message),
      );
      await delay(300);
      assert.equal(await readers(), before, "the failed plugin's connection is closed");
    } finally {
      admin.disconnect();
    }

    wrongUser = new RedisDiscovery(BASE, "Arith", [redis.endpoint], {
      username: "rpcx",
      password: "reader-secret",
      retryInitialMs: 100,
    });
    const wrongOutages = outages(wrongUser);
    await waitFor("outages for a wrong user password", () => wrongOutages.length >= 1, 5000);
    assert.match(wrongOutages[0], /WRONGPASS/);
    assert.deepEqual(wrongUser.getServices(), []);
  } finally {
    setLogger(previous);
    await closeAll(x, d, wrongUser);
    await b?.server.close();
    await a?.server.close();
    await redis.stop();
  }
});

Deno.test("redis over TLS with client certificates: register, discover, call; no certificate or a wrong CA is an outage, never a list; Go's libkv refuses TLS", async () => {
  const certs = await testCertsOrSkip();
  if (!certs) return;
  const redis = await startRedis({ tls: redisTls(certs) });
  if (!redis) {
    await certs.remove();
    return;
  }
  const tls = clientTls(certs);
  let s: Awaited<ReturnType<typeof serveArith>> | undefined;
  let d: RedisDiscovery | undefined;
  let noCert: RedisDiscovery | undefined;
  let wrongCa: RedisDiscovery | undefined;
  let plain: RedisDiscovery | undefined;
  let x: ReturnType<typeof xclientOf> | undefined;
  try {
    s = await serveArith(redis, { tls });
    const pluginOutages = outages(s.plugin);
    // rediss:// names TLS too; the CA and certificate come from the options
    d = new RedisDiscovery(BASE, "Arith", [`rediss://${redis.endpoint}`], { tls });
    x = xclientOf(d);
    await waitFor("the server listed", () => d!.getServices().length === 1, 5000);
    assert.equal(d.watching, true);
    assert.deepEqual(await x.call("Mul", MUL), { C: 200 });

    const opts = { retryInitialMs: 100, dialTimeout: 1000 };
    noCert = new RedisDiscovery(BASE, "Arith", [redis.endpoint], {
      ...opts,
      tls: { ca: certs.ca },
    });
    wrongCa = new RedisDiscovery(BASE, "Arith", [redis.endpoint], {
      ...opts,
      tls: { ...tls, ca: certs.rogueCa },
    });
    plain = new RedisDiscovery(BASE, "Arith", [redis.endpoint], opts);
    const seen = [outages(noCert), outages(wrongCa), outages(plain)];
    await waitFor("outages of all three", () => seen.every((o) => o.length >= 2), 10_000);
    for (const o of seen) assert.match(o[0], /^redis: /);
    assert.match(seen[1][0], /certificate/);
    for (const bad of [noCert, wrongCa, plain]) assert.deepEqual(bad.getServices(), []);

    await s.plugin.refresh();
    assert.deepEqual(pluginOutages, []);

    if (needGoPeer()) {
      const reg = { registry: "redis", registryAddr: redis.endpoint, base: BASE };
      const gc = await runGoClient(reg, ["--count", "1", "--registry-ca", certs.caPath]);
      assert.notEqual(gc.code, 0);
      assert.match(gc.out + gc.err, /redis does not support tls/);
    }
  } finally {
    await closeAll(x, d, noCert, wrongCa, plain);
    await s?.server.close();
    await redis.stop();
    await certs.remove();
  }
});

Deno.test("redis db (Go's store.Config Bucket): Go and Deno meet in database 3, nothing shows in database 0", async () => {
  const redis = await startRedis();
  if (!redis) return;
  let s: Awaited<ReturnType<typeof serveArith>> | undefined;
  let d3: RedisDiscovery | undefined;
  let d0: RedisDiscovery | undefined;
  const raw = new Redis({ host: "127.0.0.1", port: redis.port, db: 3 });
  raw.on("error", () => {});
  try {
    s = await serveArith(redis, { db: 3 });
    assert.equal(await raw.exists(`/${BASE}/Arith/${s.key}`), 1);
    d3 = new RedisDiscovery(BASE, "Arith", [redis.endpoint], { db: 3 });
    d0 = new RedisDiscovery(BASE, "Arith", [redis.endpoint]);
    await d3.ready();
    await d0.ready();
    assert.deepEqual(d3.getServices().map((p) => p.key), [s.key]);
    assert.deepEqual(d0.getServices(), []);
    if (needGoPeer()) {
      const reg = { registry: "redis", registryAddr: redis.endpoint, base: BASE };
      await goBothWays(reg, ["--registry-db", "3"], d3);
    }
    await delay(200);
    assert.deepEqual(d0.getServices(), [], "database 0 saw nothing of it");
  } finally {
    await closeAll(d3, d0);
    raw.disconnect();
    await s?.server.close();
    await redis.stop();
  }
});
