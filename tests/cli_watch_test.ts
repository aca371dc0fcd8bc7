// `rpcx watch` follows a registry's own notifications (etcd watch, Consul blocking queries, Redis
// keyspace events) across a restart of the registry: once it answers again, watch lists again
// and follows it, without waiting for its poll (`-i 60000` here: whatever it shows within seconds
// came from a notification or from the re-list after the outage).
import assert from "node:assert/strict";
import { Etcd3 } from "etcd3";
import { Server } from "@rpcx/core";
import { RedisRegisterPlugin } from "@rpcx/core/redis";
import { startEtcd } from "./support/etcd_server.ts";
import { startConsul } from "./support/consul_agent.ts";
import { startRedis } from "./support/redis_server.ts";
import { CountedArith } from "./support/registry_scenarios.ts";
import { waitFor } from "./support/env.ts";
import { type CliProcess, spawnRpcx } from "./support/rpcx_cli.ts";

const base = () => `/rpcx_watch_${Date.now().toString(36)}`;

/** `rpcx watch -r url Arith --json`, polled once a minute. */
function watch(url: string): CliProcess & { saw(type: string, key: string): boolean } {
  const p = spawnRpcx(["watch", "-r", url, "Arith", "--json", "-i", "60000"]);
  return Object.assign(p, {
    // A watch that has ended will see nothing more: the wait fails with how it ended (a crash
    // shows as its signal, not as a timeout).
    saw: (type: string, key: string) => {
      if (p.ended) throw new Error(`rpcx watch ended: ${p.ended}`);
      return p.out.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)).some((e) =>
        e.type === type && e.key === key
      );
    },
  });
}

Deno.test("rpcx watch on etcd: a key written after an etcd restart is seen at once", async () => {
  const etcd = await startEtcd();
  if (!etcd) return;
  const raw = new Etcd3({ hosts: etcd.endpoint });
  const b = base();
  const w = watch(`etcd://${etcd.endpoint}${b}`);
  let code: number;
  try {
    await raw.put(`${b}/Arith/tcp@127.0.0.1:1`).value("weight=1");
    await waitFor("watch sees the first key", () => w.saw("added", "tcp@127.0.0.1:1"), 20_000);
    await etcd.restart({ downMs: 1000 });
    await raw.put(`${b}/Arith/tcp@127.0.0.1:2`).value("weight=1");
    await waitFor(
      "watch sees a key written after the restart",
      () => w.saw("added", "tcp@127.0.0.1:2"),
      15_000,
    );
  } finally {
    code = await w.stop();
    raw.close();
    await etcd.stop();
  }
  assert.equal(code, 0);
});

Deno.test("rpcx watch on Consul: an agent restarted empty is seen at once", async () => {
  const agent = await startConsul(); // -dev: a restart wipes its KV
  if (!agent) return;
  const b = base();
  const w = watch(`consul://${agent.endpoint}${b}`);
  let code: number;
  try {
    const put = await agent.api(`/v1/kv${b}/Arith/tcp@127.0.0.1:1`, {
      method: "PUT",
      body: "weight=1",
    });
    assert.equal((await put.text()).trim(), "true");
    await waitFor("watch sees the key", () => w.saw("added", "tcp@127.0.0.1:1"), 20_000);
    await agent.restart({ downMs: 1000 });
    await waitFor(
      "watch sees it gone with the agent's state",
      () => w.saw("removed", "tcp@127.0.0.1:1"),
      15_000,
    );
  } finally {
    code = await w.stop();
    await agent.stop();
  }
  assert.equal(code, 0);
});

Deno.test("rpcx watch on Redis (with a password): a server registered after a Redis restart is seen at once", async () => {
  const password = "redis-secret";
  const redis = await startRedis({ password });
  if (!redis) return;
  const b = base();
  const serve = async () => {
    const s = new Server();
    s.use(
      new RedisRegisterPlugin({
        servers: [redis.endpoint],
        basePath: b,
        updateInterval: 1000,
        password,
      }),
    );
    await s.register(new CountedArith(), "Arith");
    return { server: s, key: `tcp@${await s.serve("tcp", "127.0.0.1:0")}` };
  };
  const servers: Awaited<ReturnType<typeof serve>>[] = [];
  const w = watch(`redis://:${password}@${redis.endpoint}${b}`);
  let code: number;
  try {
    servers.push(await serve());
    await waitFor("watch sees the first server", () => w.saw("added", servers[0].key), 20_000);
    // Redis restarts (its keys saved on SIGTERM, its notification setting forgotten).
    await redis.restart({ downMs: 1500 });
    servers.push(await serve());
    await waitFor(
      "watch sees a server registered after the restart",
      () => w.saw("added", servers[1].key),
      15_000,
    );
  } finally {
    code = await w.stop();
    for (const s of servers) await s.server.close();
    await redis.stop();
  }
  assert.equal(code, 0);
});
