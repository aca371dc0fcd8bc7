/**
 * Redis for an operator (`rpcx list/watch/set/ui`): libkv's keys `/` + `basePath/Service/
 * network@host:port` holding libkv's JSON of the metadata, as Go rpcx-redis writes them, through
 * the plugin's own client (password, ACL user, TLS, database).
 *
 * @module
 */
import { sleep } from "../../_internal/async.ts";
import type { Redis } from "ioredis";
import type { ServiceDiscovery } from "../discovery.ts";
import {
  ChangeWaiters,
  checkTarget,
  encodeGoValues,
  nodeBusy,
  nodeMissing,
  type OperatorTarget,
  type RegistryOperator,
  type ServerNode,
  sortNodes,
  splitNodePath,
  unreachableError,
  usageError,
} from "../operator.ts";
import { parseMetadata } from "../metadata.ts";
import {
  command,
  connectClient,
  createClient,
  decodeValue,
  dropClient,
  enableKeyspaceEvents,
  encodeValue,
  escapeGlob,
  listDir,
  normalizeKey,
  trimPath,
} from "./client.ts";
import { RedisDiscovery } from "./discovery.ts";
import { type RedisClientOptions, RedisError } from "./options.ts";

/** Compare-and-set rounds (WATCH/MULTI) before giving up on a node that keeps changing. */
const CAS_TRIES = 5;

/** The plugin's client options for `target`. */
function clientOptions(target: OperatorTarget): RedisClientOptions {
  checkTarget(target, { token: "Redis takes a password (:password@), not a token" }, [
    "db",
    "servername",
  ]);
  const options: RedisClientOptions = {
    username: target.username || undefined,
    password: target.password,
  };
  if (options.username !== undefined && options.password === undefined) {
    throw usageError("redis", `registry "${target.url}": a Redis ACL user needs its password`);
  }
  const db = target.params.get("db");
  if (db !== null) {
    if (!/^\d+$/.test(db)) {
      throw usageError(
        "redis",
        `registry "${target.url}": db must be a database index (0, 1, ...)`,
      );
    }
    options.db = Number(db);
  }
  if (target.tls) {
    options.tls = {
      ca: target.ca,
      cert: target.cert,
      key: target.key,
      servername: target.params.get("servername") ?? undefined,
    };
  }
  return options;
}

/**
 * Opens Redis for `target` (`redis://[user]:password@h:6379/base?db=N`, TLS:
 * `rediss://…?ca=…&cert=…&key=…`). One server, as libkv. Edits keep the node's TTL (`KEEPTTL`,
 * Redis 6+) and are compare-and-set (`WATCH`/`MULTI`). `watch` follows keyspace notifications,
 * turned on as libkv does; without them it polls. Nothing is contacted before the first call.
 *
 * @example
 * ```ts
 * import { openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("redis://:secret@127.0.0.1:6379/rpcx_test");
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export function openOperator(target: OperatorTarget): RegistryOperator {
  const options = clientOptions(target);
  const { url, servers, basePath } = target;
  if (servers.length !== 1) {
    throw usageError("redis", `registry "${url}": Redis takes one server (as Go's libkv)`);
  }
  const where = `redis ${servers[0]}`;
  const dir = normalizeKey(trimPath(basePath));
  let redis: Redis | undefined;
  const client = async () => {
    if (!redis) {
      try {
        redis = createClient(servers, options);
      } catch (e) {
        throw e instanceof RedisError ? usageError("redis", `registry "${url}": ${e.message}`) : e;
      }
      redis.on("error", () => {}); // failures surface as rejected commands
    }
    await connectClient(redis);
    return redis;
  };
  const run = async <T>(what: (c: Redis) => Promise<T>): Promise<T> => {
    try {
      return await what(await client());
    } catch (e) {
      throw unreachableError("redis", "command", where, e);
    }
  };

  // Change notifications: keyspace events of the base path while anybody waits. A subscription
  // that fails or is lost is tried again every second. Each one wakes the waiters once it is
  // made: what changed before it (since their last list, or while there was none) was not
  // notified, so they list again.
  const waiters = new ChangeWaiters();
  const stop = new AbortController();
  let sub: Redis | undefined;
  let subscribing: Promise<void> | undefined;
  const pause = (ms: number) => sleep(ms, stop.signal);
  const subscribe = async () => {
    while (!stop.signal.aborted && waiters.size > 0) {
      const s = createClient(servers, options);
      s.on("error", () => {});
      s.on("pmessage", (_p: string, _c: string, event: string) => {
        if (event !== "expire") waiters.wake(); // a TTL renewed changes nothing
      });
      let live = false;
      s.on("close", () => {
        if (sub !== s) return;
        sub = undefined;
        dropClient(s);
        if (live) waiters.wake();
      });
      sub = s;
      try {
        await connectClient(s);
        await command(
          "PSUBSCRIBE",
          () => s.psubscribe(`__keyspace@${options.db ?? 0}__:${escapeGlob(`${dir}/`)}*`),
          s,
        );
        live = true;
        waiters.wake();
        // as libkv, on every connect: a restarted Redis has forgotten them
        await run((c) => enableKeyspaceEvents(c)).catch(() => {});
        return;
      } catch {
        // polling reports why; try again in a second
        if (sub === s) sub = undefined;
        dropClient(s);
        await pause(1000);
      }
    }
  };

  return {
    url,
    writable: true,
    async list(service?: string): Promise<ServerNode[]> {
      const from = service === undefined ? dir : `${dir}/${service}`;
      const pairs = await run((c) => listDir(c, from));
      const nodes: ServerNode[] = [];
      for (const p of pairs) {
        const parts = service === undefined ? splitNodePath(p.key) : { service, key: p.key };
        if (parts) nodes.push({ ...parts, metadata: p.value });
      }
      return sortNodes(nodes);
    },
    async update(service, key, edit): Promise<string> {
      const path = `${trimPath(basePath)}/${service}/${key}`;
      const k = normalizeKey(path);
      for (let i = 0; i < CAS_TRIES; i++) {
        const c = await run((c) => Promise.resolve(c));
        const raw = await run(async () => {
          await command("WATCH", () => c.watch(k), c);
          return await command("GET", () => c.get(k), c);
        });
        const current = raw === null ? undefined : decodeValue(raw);
        if (current === undefined) {
          await c.unwatch().catch(() => {});
          throw nodeMissing("redis", service, key, url);
        }
        const meta = parseMetadata(current);
        edit(meta);
        const metadata = encodeGoValues(meta);
        const value = encodeValue(path, metadata);
        // KEEPTTL: the node still expires with its server; EXEC is null when it changed
        const done = await run(() =>
          command("MULTI/EXEC", () => c.multi().set(k, value, "KEEPTTL").exec(), c)
        );
        if (done === null) continue;
        const failed = done.find(([err]) => err);
        if (failed) throw unreachableError("redis", "update", where, failed[0]);
        return metadata;
      }
      throw nodeBusy("redis", k);
    },
    changed(signal: AbortSignal): Promise<void> {
      const p = waiters.wait(signal);
      if (!sub && !subscribing) subscribing = subscribe().finally(() => (subscribing = undefined));
      return p;
    },
    discovery(service: string): ServiceDiscovery {
      return new RedisDiscovery(basePath, service, servers, options);
    },
    async close(): Promise<void> {
      stop.abort();
      waiters.wake();
      const s = sub;
      sub = undefined;
      dropClient(s);
      dropClient(redis);
      redis = undefined;
      await subscribing;
    },
  };
}
