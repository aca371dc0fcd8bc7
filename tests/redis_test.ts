// Redis registry against a real redis-server (tests/support/redis_server.ts, started with its
// defaults: keyspace notifications off): Go rpcx-redis's layout over libkv (keys, JSON values,
// TTLs, the very SET commands), refresh and re-registration after a Redis restart, registry
// outages, the shared scenarios with XClient, and Go's plugin and discovery both ways.
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { RegistryError, type XClient } from "@rpcx/core";
import { RedisDiscovery, RedisError, RedisRegisterPlugin } from "@rpcx/core/redis";
import { type RedisServer, startRedis } from "./support/redis_server.ts";
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
  MUL,
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
const NODE = "//rpcx_test/Arith/tcp@127.0.0.1:8972";

/** Runs `fn` with a fresh redis-server and a raw ioredis client (the "operator"). */
async function withRedis(fn: (redis: RedisServer, raw: Redis) => Promise<void>): Promise<void> {
  const redis = await startRedis();
  if (!redis) return;
  const raw = new Redis({ host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: 50 });
  raw.on("error", () => {});
  try {
    await fn(redis, raw);
  } finally {
    raw.disconnect();
    await redis.stop();
  }
}

/** libkv's JSON of `store.KVPair` for `path` = `value`, as Go writes it. */
function libkv(path: string, value: string, lastIndex = 1): string {
  const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(value)));
  return `{"Key":${JSON.stringify(path)},"Value":"${b64}","LastIndex":${lastIndex}}`;
}

/** Every key with its decoded libkv value (or the raw text when it is not libkv's JSON). */
async function dump(raw: Redis, pattern = "*"): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of (await raw.keys(pattern)).sort()) {
    const v = await raw.get(key);
    if (v === null) continue;
    try {
      const kv = JSON.parse(v) as { Key: string; Value: string | null };
      const value = new TextDecoder().decode(
        Uint8Array.from(atob(kv.Value ?? ""), (c) => c.charCodeAt(0)),
      );
      assert.equal(`/${kv.Key}`, key, `the JSON Key of ${key} is the path before normalizing`);
      out[key] = value;
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      out[key] = `RAW:${v}`;
    }
  }
  return out;
}

function plugin(
  redis: RedisServer,
  extra: Partial<ConstructorParameters<typeof RedisRegisterPlugin>[0]> = {},
) {
  return new RedisRegisterPlugin({
    servers: [redis.endpoint],
    basePath: "/rpcx_test",
    updateInterval: 1000,
    ...extra,
  });
}

async function serveArith(
  redis: RedisServer,
  metadata = "",
  extra: Partial<ConstructorParameters<typeof RedisRegisterPlugin>[0]> = {},
): Promise<ServedArith<RedisRegisterPlugin>> {
  return await serveCountedArith(plugin(redis, extra), metadata);
}

function discovery(redis: RedisServer, base = "/rpcx_test", service = "Arith"): RedisDiscovery {
  return new RedisDiscovery(base, service, [redis.endpoint], DISCOVERY_RETRY);
}

/** The commands Redis executes while `fn` runs (MONITOR), as argument lists. */
async function monitored(redis: RedisServer, fn: () => Promise<void>): Promise<string[][]> {
  const mon = new Redis({ host: "127.0.0.1", port: redis.port });
  mon.on("error", () => {});
  const seen: string[][] = [];
  try {
    const m = await mon.monitor();
    m.on("monitor", (_time: string, args: string[]) => seen.push(args));
    await delay(100);
    await fn();
    await delay(200);
    m.disconnect();
  } finally {
    mon.disconnect();
  }
  return seen;
}

Deno.test({
  name:
    "redis plugin: libkv's keys ('/' + path), JSON values, dirs without expiry, node TTL 2 × updateInterval",
  fn: () =>
    withRedis(async (redis, raw) => {
      const p = plugin(redis, { updateInterval: 1500 });
      await p.unregister("Nothing"); // before start, no services: no error
      await p.start(ctx);
      await p.unregister("Nothing");
      await p.register("Arith", null, "weight=10&group=a");
      await p.register("Echo", null, "");
      assert.deepEqual(await dump(raw), {
        "//rpcx_test": "rpcx_path",
        "//rpcx_test/Arith": "Arith",
        [NODE]: "weight=10&group=a",
        "//rpcx_test/Echo": "Echo",
        "//rpcx_test/Echo/tcp@127.0.0.1:8972": "",
      });
      const v = JSON.parse((await raw.get(NODE))!);
      assert.deepEqual(Object.keys(v), ["Key", "Value", "LastIndex"]);
      assert.equal(v.Key, "/rpcx_test/Arith/tcp@127.0.0.1:8972");
      assert.equal(v.Value, btoa("weight=10&group=a"));
      assert.ok(Number.isInteger(v.LastIndex) && v.LastIndex >= 0 && v.LastIndex < 1e9);
      assert.equal(p.ttlMs, 3000);
      assert.equal(await raw.pttl("//rpcx_test"), -1);
      assert.equal(await raw.pttl("//rpcx_test/Arith"), -1);
      const ttl = await raw.pttl(NODE);
      assert.ok(ttl > 2000 && ttl <= 3000, `node TTL ${ttl} ms`);
      // libkv turns keyspace notifications on, and so does the plugin
      assert.match((await raw.config("GET", "notify-keyspace-events") as string[])[1], /K/);

      await p.unregister("Echo");
      assert.deepEqual(Object.keys(await dump(raw, "//rpcx_test/Echo*")), ["//rpcx_test/Echo"]);
      await p.stop();
      // stop deletes the nodes; the directory keys stay (as Go's)
      assert.deepEqual(Object.keys(await dump(raw)).sort(), [
        "//rpcx_test",
        "//rpcx_test/Arith",
        "//rpcx_test/Echo",
      ]);
      await p.stop(); // twice is fine
    }),
});

Deno.test({
  name:
    "redis plugin: base path without a leading slash → '/rpcx_test/…'; PX for a TTL in ms; metrics",
  fn: () =>
    withRedis(async (redis, raw) => {
      const p = plugin(redis, { basePath: "rpcx_test/", metrics: true, updateInterval: 300 });
      const commands = await monitored(redis, async () => {
        await p.start(ctx);
        await p.register("Arith", null, "weight=2");
      });
      const node = "/rpcx_test/Arith/tcp@127.0.0.1:8972";
      const set = commands.find((c) => c[0].toLowerCase() === "set" && c[1] === node)!;
      assert.deepEqual([set[0].toLowerCase(), ...set.slice(3)], ["set", "PX", "600"]);
      assert.match(
        set[2],
        /^\{"Key":"rpcx_test\/Arith\/tcp@127\.0\.0\.1:8972","Value":"[^"]*","LastIndex":\d+\}$/,
      );
      await waitFor("metrics in the node", async () => {
        const v = (await dump(raw))[node];
        return v !== undefined && v.includes("calls=") && v.includes("connections=");
      }, 5000);
      const v = new URLSearchParams((await dump(raw))[node]);
      assert.equal(v.get("weight"), "2");
      assert.ok(Math.abs(Number(v.get("calls")) - 10) < 0.5, `about 10 calls/s: ${v}`);
      assert.deepEqual(Object.keys(await dump(raw)).sort(), [
        "/rpcx_test",
        "/rpcx_test/Arith",
        node,
      ]);
      await p.stop();
    }),
});

Deno.test({
  name: "redis plugin: refresh re-creates a deleted or garbled node and keeps an operator's edit",
  fn: () =>
    withRedis(async (redis, raw) => {
      const p = plugin(redis);
      await p.start(ctx);
      await p.register("Arith", null, "weight=3");
      await raw.del(NODE, "//rpcx_test/Arith", "//rpcx_test");
      await waitFor("node and dirs re-created", async () => {
        const all = await dump(raw);
        return all[NODE] === "weight=3" && all["//rpcx_test/Arith"] === "Arith" &&
          all["//rpcx_test"] === "rpcx_path";
      }, 3000);
      // an operator's edit without TTL: kept by the refresh, which puts the TTL back
      await raw.set(NODE, libkv(NODE.slice(1), "weight=3&state=inactive"));
      assert.equal(await raw.pttl(NODE), -1);
      await waitFor("TTL back", async () => (await raw.pttl(NODE)) > 0, 3000);
      assert.equal((await dump(raw))[NODE], "weight=3&state=inactive");
      // not libkv's JSON: written anew with the registered metadata (Go's Get fails → re-Put)
      await raw.set(NODE, "weight=1");
      await waitFor("garbled node replaced", async () =>
        (await dump(raw))[NODE] === "weight=3", 3000);
      await p.stop();
    }),
});

Deno.test({
  name:
    "redis plugin: Redis restarted without its keys → registered again at reconnect, not at the next tick; notifications back on",
  fn: () =>
    withRedis(async (redis, raw) => {
      // updateInterval 20 s: the next tick is far; the reconnect itself must re-register
      const p = plugin(redis, { updateInterval: 20_000 });
      const events: string[] = [];
      p.addEventListener("outage", () => events.push("outage"));
      p.addEventListener("recovered", () => events.push("recovered"));
      await p.start(ctx);
      await p.register("Arith", null, "weight=1");
      const runId = async () => /run_id:(\w+)/.exec(await raw.info("server"))?.[1];
      const before = await runId();
      await redis.halt("SIGKILL"); // nothing saved: the keys are gone
      await delay(300);
      await p.refresh(); // a tick while Redis is down: an outage, no hang
      assert.deepEqual(events, ["outage"]);
      const t0 = Date.now();
      await redis.resume();
      // A new redis-server process (a new run_id) starts with notify-keyspace-events "" (CONFIG SET
      // is not persisted): any K seen below was set again after the restart, by the plugin. (Reading
      // the setting here raced the plugin's reconnect, which may already have turned it back on.)
      const after = await runId();
      assert.ok(before && after && before !== after, `a new Redis process: ${before} -> ${after}`);
      await waitFor(
        "registration back",
        async () => {
          const all = await dump(raw);
          return all[NODE] === "weight=1" && all["//rpcx_test"] === "rpcx_path" &&
            all["//rpcx_test/Arith"] === "Arith";
        },
        5000,
        20,
      );
      console.log(`re-registered ${Date.now() - t0} ms after Redis came back without its keys`);
      assert.ok((await raw.pttl(NODE)) > 30_000, "with its TTL");
      await waitFor("notifications on again", async () =>
        /K/.test((await raw.config("GET", "notify-keyspace-events") as string[])[1]), 3000);
      assert.deepEqual(events, ["outage", "recovered"]);
      await p.stop();
    }),
});

Deno.test({
  name:
    "redis plugin: Redis restarted with its keys (saved on SIGTERM) → keys and their TTL kept, refreshed on",
  fn: () =>
    withRedis(async (redis, raw) => {
      const p = plugin(redis, { updateInterval: 1000 });
      await p.start(ctx);
      await p.register("Arith", null, "weight=1");
      await redis.restart({ downMs: 300 });
      const ttl = await raw.pttl(NODE);
      assert.ok(ttl > 0 && ttl <= 2000, `the TTL survives the restart: ${ttl}`);
      await delay(2500); // longer than the TTL: kept alive by the refresh
      assert.equal((await dump(raw))[NODE], "weight=1");
      await p.stop();
    }),
});

Deno.test("redis: bad server lists are TypeErrors/RangeErrors, bad arguments (one server, as libkv); Redis down at start fails start within dialTimeout", async () => {
  assert.throws(
    () => new RedisDiscovery("/b", "Arith", ["127.0.0.1:1", "127.0.0.1:2"]),
    (e: Error) => e instanceof TypeError && /does not support multiple endpoints/.test(e.message),
  );
  assert.throws(() => new RedisDiscovery("/b", "Arith", []), TypeError);
  assert.throws(() => new RedisDiscovery("/b", "Arith", ["http://x:1"]), TypeError);
  assert.throws(() => new RedisDiscovery("/b", "Arith", ["h:1"], { db: -1 }), RangeError);
  assert.throws(() => new RedisDiscovery("/b", "Arith", ["h:99999"]), RangeError);
  const p = new RedisRegisterPlugin({
    servers: [`127.0.0.1:${freePort()}`],
    basePath: "/b",
    dialTimeout: 500,
  });
  const t0 = Date.now();
  await assert.rejects(
    p.start(ctx),
    (e: Error) =>
      e instanceof RedisError && e instanceof RegistryError && e.unavailable &&
      e.registry === "redis" && /connect/.test(e.message),
  );
  assert.ok(Date.now() - t0 < 2000);
  await p.stop();
});

Deno.test("redis discovery: lists basePath/Service/ (dirs, siblings and non-libkv values skipped), follows set/del/expiry, clone", () =>
  withRedis((redis, raw) => {
    /** libkv's key and JSON for `Arith/<key>`; with `px`, expiring after `px` ms. */
    const put = async (key: string, value: string, px?: number) => {
      const path = `/rpcx_test/Arith/${key}`;
      if (px === undefined) await raw.set(`/${path}`, libkv(path, value));
      else await raw.set(`/${path}`, libkv(path, value), "PX", px);
    };
    return discoveryFollowsChanges({
      plugin: () => plugin(redis),
      discovery: () => discovery(redis),
      prefix: "//rpcx_test/Arith/",
      putNode: (key, value) => put(key, value),
      deleteNode: async (key) => void await raw.del(`//rpcx_test/Arith/${key}`),
      listed: (d) => assert.equal((d as RedisDiscovery).watching, true),
      deleted: async (d) => {
        // an expiring key leaves the list when Redis expires it
        await put("tcp@127.0.0.1:9000", "", 500);
        await waitFor("short-lived server listed", () => d.getServices().length === 2, 3000);
        await waitFor("short-lived server expired", () => d.getServices().length === 1, 3000);
        // not libkv's JSON, and other types: skipped, the rest still listed
        await raw.set("//rpcx_test/Arith/tcp@127.0.0.1:9001", "weight=1");
        await raw.hset("//rpcx_test/Arith/tcp@127.0.0.1:9002", "a", "b");
        await delay(300);
        assert.deepEqual(d.getServices(), [{ key: "tcp@127.0.0.1:8972", value: "weight=1" }]);
        // an empty prefix is an empty list (Go's NewRedisDiscovery fails there); glob
        // characters in the base path are literal (libkv's SCAN pattern would match them)
        for (const base of ["/nothing_here", "/rpcx_*", "/rpcx_tes?", "/rpcx_[t]est"]) {
          const none = discovery(redis, base);
          try {
            await none.ready();
            assert.deepEqual(none.getServices(), [], base);
          } finally {
            await none.close();
          }
        }
      },
    });
  }));

Deno.test({
  name: "redis discovery: a renewed TTL (`expire` event) is no change: no re-list; a `set` is",
  fn: () =>
    withRedis(async (redis, raw) => {
      const k = "//rpcx_test/Arith/tcp@127.0.0.1:9000";
      await raw.set(k, libkv(k.slice(1), "weight=5"));
      const d = discovery(redis);
      try {
        await d.ready();
        await delay(300); // the rounds of the first connect are over
        const scans = (cmds: string[][]) => cmds.filter((c) => c[0].toLowerCase() === "scan");
        const renewed = await monitored(redis, async () => {
          await raw.expire(k, 100);
          await delay(300);
        });
        assert.ok(renewed.some((c) => c[0].toLowerCase() === "expire"), "EXPIRE seen");
        assert.deepEqual(scans(renewed), []);
        const set = await monitored(redis, async () => {
          await raw.set(k, libkv(k.slice(1), "weight=6"));
          await waitFor("new value", () => d.getServices()[0]?.value === "weight=6", 3000);
        });
        assert.ok(scans(set).length >= 1);
      } finally {
        await d.close();
      }
    }),
});

Deno.test({
  name: "redis discovery: CONFIG renamed away and notifications off → polls every pollInterval",
  fn: async () => {
    const redis = await startRedis({ args: ["--rename-command", "CONFIG", ""] });
    if (!redis) return;
    const raw = new Redis({ host: "127.0.0.1", port: redis.port });
    raw.on("error", () => {});
    const d = new RedisDiscovery("/rpcx_test", "Arith", [redis.endpoint], { pollInterval: 200 });
    try {
      await d.ready();
      assert.equal(d.watching, false);
      const k = "//rpcx_test/Arith/tcp@127.0.0.1:9000";
      await raw.set(k, libkv(k.slice(1), "weight=5"));
      await waitFor("listed by polling", () => d.getServices().length === 1, 2000);
    } finally {
      await d.close();
      raw.disconnect();
      await redis.stop();
    }
  },
});

function outageFixture(redis: RedisServer, raw: Redis): OutageFixture {
  return {
    discovery: () => discovery(redis),
    putNode: async (key, value) => {
      const path = `/rpcx_test/Arith/${key}`;
      await raw.set(`/${path}`, libkv(path, value));
    },
    putUnrelated: async (value) => void await raw.set("/other", value),
    halt: () => redis.halt("SIGKILL"),
    resume: (wiped) => redis.resume({ wipe: wiped }),
  };
}

Deno.test("redis discovery: outage keeps the last list, emits outage/recovered, re-lists after a wipe", () =>
  withRedis((redis, raw) => discoveryOutageThenWipe(outageFixture(redis, raw))));

Deno.test("redis discovery: Redis down at start → outage events, ready once Redis is up", () =>
  withRedis((redis, raw) =>
    discoveryStartsDuringOutage({
      ...outageFixture(redis, raw),
      halt: () => redis.halt("SIGTERM"), // saved: the node written before is there again
    })
  ));

function fixture(redis: RedisServer): RegistryFixture {
  return {
    // TTL 1 + 9 = 10 s when long-lived
    serve: (metadata, o) => serveArith(redis, metadata, o?.longLived ? { expired: 9000 } : {}),
    discovery: () => discovery(redis),
  };
}

Deno.test("redis + XClient: register → discover → call; a second server joins; graceful shutdown removes it at once", () =>
  withRedis((redis) => joinThenGracefulShutdown(fixture(redis))));

Deno.test("redis + XClient: examples/redis server (child) and client; SIGKILL → dropped within the TTL", () =>
  withRedis((redis) =>
    exampleServerKilled(fixture(redis), {
      example: "redis",
      registryFlags: ["--registry", redis.endpoint],
      serverFlags: ["--update", "500"], // TTL 1 s
      boundMs: 1000 + 1000, // Redis expires keys in a background cycle (10 times a second)
    })
  ));

Deno.test("redis + XClient: state=inactive written by an operator → not selected; selected again when flipped back", () =>
  withRedis((redis, raw) =>
    operatorMarksInactive({
      ...fixture(redis),
      writeNode: async (key, value) => {
        const path = `/rpcx_test/Arith/${key}`;
        await raw.set(`/${path}`, libkv(path, value), "EX", 10);
      },
      readNode: async (key) => (await dump(raw))[`//rpcx_test/Arith/${key}`],
    })
  ));

Deno.test("redis + XClient: weight and group metadata reach the selectors", () =>
  withRedis((redis) => weightsAndGroups(fixture(redis))));

Deno.test("redis + XClient: Redis restarted with its keys mid-test → no user call fails; a later server is listed", () =>
  withRedis((redis) =>
    restartedUnderCalls({ serve: (m) => serveArith(redis, m), discovery: () => discovery(redis) }, {
      name: "Redis",
      restart: () => redis.restart({ downMs: 1500 }),
    })
  ));

Deno.test({
  name:
    "redis + XClient: Redis restarted without its keys (SIGKILL) → servers register again by themselves, calls resume",
  fn: () =>
    withRedis(async (redis) => {
      // updateInterval 10 s: back long before the next tick, by the reconnect's refresh
      const a = await serveArith(redis, "", { updateInterval: 10_000 });
      const d = discovery(redis);
      const x = xclientOf(d);
      try {
        await d.ready();
        assert.deepEqual(x.servers, [a.key]);
        await redis.halt("SIGKILL");
        await delay(500);
        // during the outage the discovery keeps its list: calls go on
        assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
        const t0 = Date.now();
        await redis.resume({ wipe: true });
        await waitFor(
          "listed again after the wipe",
          async () => {
            return d.getServices().some((p) => p.key === a.key) && !d.inOutage &&
              (await x.call("Mul", MUL).then(() => true, () => false));
          },
          5000,
          20,
        );
        console.log(`listed and called again ${Date.now() - t0} ms after Redis came back empty`);
      } finally {
        await x.close();
        await d.close();
        await a.server.close();
      }
    }),
});

Deno.test({
  name:
    "redis + Go rpcx-redis: the same SET commands, keys, values and TTLs; Go and Deno find and call each other; Go SIGKILLed → gone within its TTL",
  async fn() {
    if (!needGoPeer()) return;
    await withRedis(async (redis, raw) => {
      const reg: GoRegistry = {
        registry: "redis",
        registryAddr: redis.endpoint,
        base: "/rpcx_test",
      };
      let go: Awaited<ReturnType<typeof startGoServer>> | undefined;
      let local: Awaited<ReturnType<typeof serveArith>> | undefined;
      let d: RedisDiscovery | undefined;
      let x: XClient | undefined;
      try {
        // What each writes, command by command (LastIndex and the port aside).
        const goCommands = await monitored(redis, async () => {
          go = await startGoServer(reg, GO_ARITH_WEIGHT_5);
        });
        const goKey = go!.key;
        const goNode = `//rpcx_test/Arith/${goKey}`;
        const ourCommands = await monitored(redis, async () => {
          local = await serveArith(redis, "weight=5");
        });
        const node = `//rpcx_test/Arith/${local!.key}`;
        // distinct SET commands, with the command and TTL option names in lower case (Redis
        // takes either)
        const shape = (cmds: string[][], key: string) =>
          [
            ...new Set(
              cmds.filter((c) => c[0].toLowerCase() === "set").map((c) =>
                [c[0], c[1], c[2], ...(c.length > 3 ? [c[3].toLowerCase(), c[4]] : [])]
                  .map((a, i) => (i === 0 ? a.toLowerCase() : a)).join(" ")
                  .replaceAll(key, "<node>").replace(/"LastIndex":\d+/g, '"LastIndex":N')
              ),
            ),
          ].sort();
        const goSets = shape(goCommands, goKey);
        assert.deepEqual(goSets, [
          'set //rpcx_test {"Key":"/rpcx_test","Value":"cnBjeF9wYXRo","LastIndex":N}',
          'set //rpcx_test/Arith {"Key":"/rpcx_test/Arith","Value":"QXJpdGg=","LastIndex":N}',
          `set //rpcx_test/Arith/<node> {"Key":"/rpcx_test/Arith/<node>","Value":"${
            btoa("weight=5")
          }","LastIndex":N} ex 2`,
        ]);
        assert.deepEqual(shape(ourCommands, local!.key), goSets);
        assert.deepEqual(await dump(raw), {
          "//rpcx_test": "rpcx_path",
          "//rpcx_test/Arith": "Arith",
          [goNode]: "weight=5",
          [node]: "weight=5",
        });
        assert.ok((await raw.pttl(goNode)) > 0 && (await raw.pttl(goNode)) <= 2000);

        d = discovery(redis);
        x = xclientOf(d);
        await d.ready();
        await goAndDenoCallEachOther(reg, x, goKey, local!);

        // SIGKILL: nothing unregisters; the key expires within its TTL (2 s) and the
        // discovery drops it on the `expired` notification.
        await go!.kill("SIGKILL");
        const t0 = Date.now();
        await waitFor("killed Go server gone", () => !x!.discovered.includes(goKey), 5000, 20);
        const took = Date.now() - t0;
        console.log(`SIGKILLed Go server left the discovery after ${took} ms (TTL 2000 ms)`);
        assert.ok(took < 2000 + 1000, `${took} ms`);
        assert.equal(await raw.exists(goNode), 0);
        assert.deepEqual(x.servers, [local!.key]);
        assert.deepEqual(await x.call("Mul", MUL), { C: 200 });
      } finally {
        await go?.stop();
        await x?.close();
        await d?.close();
        await local?.server.close();
      }
    });
  },
});

Deno.test("redis + examples/redis server: SIGTERM and SIGINT unregister at once (not at expiry)", () =>
  withRedis((redis, raw) =>
    exampleServerSignalled({
      example: "redis",
      // updateInterval 10 s: the node lives 20 s, so a removal within a second is the server's
      serverFlags: (base) => ["--registry", redis.endpoint, "--base", base, "--update", "10000"],
      nodeListed: async (base, key) => (await raw.exists(`/${base}/Arith/${key}`)) === 1,
      discovery: (base) => discovery(redis, base),
      lifetimeMs: 20_000,
      boundMs: 2000,
    })
  ));
