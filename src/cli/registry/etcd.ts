/**
 * etcd v3 as the command line sees it: keys `basePath/Service/network@host:port` holding the
 * metadata, as Go rpcx-etcd writes them.
 *
 * @module
 */
import { Etcd3, type Watcher } from "etcd3";
import { EtcdDiscovery } from "@rpcx/core/etcd";
import type { ServiceDiscovery } from "../../registry/discovery.ts";
import { unreachable } from "../errors.ts";
import {
  ChangeWaiters,
  encodeGoValues,
  nodeMissing,
  type RegistryAdmin,
  type ServerNode,
  sortNodes,
  splitNodePath,
} from "./registry.ts";

/** How long one etcd request may take, ms. */
const REQUEST_TIMEOUT = 5000;

/**
 * Opens etcd at `servers` (`host:port`) for base path `basePath` (kept as given, as Go does).
 *
 * @example
 * ```ts ignore
 * import { openEtcd } from "@rpcx/core/cli";
 * const r = openEtcd("etcd://127.0.0.1:2379/rpcx_test", ["127.0.0.1:2379"], "/rpcx_test");
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export function openEtcd(url: string, servers: string[], basePath: string): RegistryAdmin {
  const client = new Etcd3({
    hosts: servers.map((s) => (s.includes("://") ? s : `http://${s}`)),
    defaultCallOptions: (ctx) => ctx.isStream ? {} : { deadline: Date.now() + REQUEST_TIMEOUT },
  });
  const base = basePath.length > 1 ? basePath.replace(/\/+$/, "") : basePath;
  const where = `etcd ${servers.join(",")}`;
  const waiters = new ChangeWaiters();
  let watcher: Promise<Watcher | undefined> | undefined;
  const watch = () =>
    client.watch().prefix(`${base}/`).create().then((w) => {
      w.on("data", () => waiters.wake());
      // A broken watch is dropped; the next wait makes a new one (polling goes on meanwhile).
      w.on("error", () => (watcher = undefined));
      w.on("disconnected", () => (watcher = undefined));
      return w;
    }, () => (watcher = undefined));
  return {
    url,
    writable: true,
    async list(service?: string): Promise<ServerNode[]> {
      const prefix = service === undefined ? `${base}/` : `${base}/${service}/`;
      let all: Record<string, string>;
      try {
        all = await client.getAll().prefix(prefix).strings();
      } catch (e) {
        throw unreachable(where, e);
      }
      const nodes: ServerNode[] = [];
      for (const [k, metadata] of Object.entries(all)) {
        const parts = splitNodePath(k.slice(base.length + 1));
        if (parts) nodes.push({ ...parts, metadata });
      }
      return sortNodes(nodes);
    },
    async update(service, key, edit): Promise<string> {
      const path = `${base}/${service}/${key}`;
      let current: string | null;
      try {
        current = await client.get(path).string();
      } catch (e) {
        throw unreachable(where, e);
      }
      if (current === null) throw nodeMissing(service, key, url);
      const meta = new URLSearchParams(current);
      edit(meta);
      const next = encodeGoValues(meta);
      try {
        // ignoreLease: the key stays on the server's lease, so it still expires with the server.
        await client.put(path).value(next).ignoreLease();
      } catch (e) {
        if (/not found/i.test(String(e))) throw nodeMissing(service, key, url);
        throw unreachable(where, e);
      }
      return next;
    },
    changed(signal: AbortSignal): Promise<void> {
      watcher ??= watch();
      return waiters.wait(signal);
    },
    discovery(service: string): ServiceDiscovery {
      return new EtcdDiscovery(basePath, service, servers);
    },
    async close(): Promise<void> {
      waiters.wake();
      const w = await watcher;
      watcher = undefined;
      await w?.cancel().catch(() => {});
      client.close();
    },
  };
}
