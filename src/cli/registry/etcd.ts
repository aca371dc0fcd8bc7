/**
 * etcd v3 as the command line sees it: keys `basePath/Service/network@host:port` holding the
 * metadata, as Go rpcx-etcd writes them.
 *
 * @module
 */
import type { Etcd3, Watcher } from "etcd3";
import { EtcdDiscovery } from "@rpcx/core/etcd";
import { createClient, withTimeout } from "../../registry/etcd/client.ts";
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
 * ```ts
 * import { openEtcd } from "@rpcx/core/cli";
 * const r = openEtcd("etcd://127.0.0.1:2379/rpcx_test", ["127.0.0.1:2379"], "/rpcx_test");
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export function openEtcd(url: string, servers: string[], basePath: string): RegistryAdmin {
  // The registries' own client (dead endpoints steered around, bounded dials and stream
  // opens), made at the first call: opening contacts nothing.
  let etcd: Etcd3 | undefined;
  const client = () => (etcd ??= createClient(servers, { dialTimeout: REQUEST_TIMEOUT }));
  const base = basePath.length > 1 ? basePath.replace(/\/+$/, "") : basePath;
  const where = `etcd ${servers.join(",")}`;
  const waiters = new ChangeWaiters();
  let watcher: Watcher | undefined;
  // A watch that breaks is dropped (so etcd3 stops re-opening it); the next wait makes a new
  // one (polling goes on meanwhile).
  const drop = (w: Watcher) => {
    if (watcher === w) watcher = undefined;
    w.removeAllListeners("data");
    w.on("error", () => {});
    return withTimeout(w.cancel(), 1000).catch(() => {});
  };
  const watch = () => {
    const w = client().watch().prefix(`${base}/`).watcher();
    w.on("data", () => waiters.wake());
    w.on("error", () => void drop(w));
    w.on("disconnected", () => void drop(w));
    return w;
  };
  return {
    url,
    writable: true,
    async list(service?: string): Promise<ServerNode[]> {
      const prefix = service === undefined ? `${base}/` : `${base}/${service}/`;
      let all: Record<string, string>;
      try {
        all = await client().getAll().prefix(prefix).strings();
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
        current = await client().get(path).string();
      } catch (e) {
        throw unreachable(where, e);
      }
      if (current === null) throw nodeMissing(service, key, url);
      const meta = new URLSearchParams(current);
      edit(meta);
      const next = encodeGoValues(meta);
      try {
        // ignoreLease: the key stays on the server's lease, so it still expires with the server.
        await client().put(path).value(next).ignoreLease();
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
      const w = watcher;
      watcher = undefined;
      if (w) await drop(w);
      etcd?.close();
    },
  };
}
