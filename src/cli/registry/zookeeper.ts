/**
 * ZooKeeper as the command line sees it: `/basePath/Service/network@host:port` nodes holding
 * the metadata (ephemeral, owned by the server's session), as Go rpcx-zookeeper writes them.
 *
 * @module
 */
import { ZooKeeperDiscovery } from "@rpcx/core/zookeeper";
import type { ServiceDiscovery } from "../../registry/discovery.ts";
import { ZkSession } from "../../registry/zookeeper/session.ts";
import { BAD_VERSION, codeOf, NO_NODE } from "../../registry/zookeeper/errors.ts";
import { CliError, ExitCode, unreachable } from "../errors.ts";
import {
  encodeGoValues,
  nodeMissing,
  type RegistryAdmin,
  type ServerNode,
  sortNodes,
} from "./registry.ts";

/** How long connecting and each operation may take, ms. */
const REQUEST_TIMEOUT = 5000;
const CAS_TRIES = 5;

/**
 * Opens ZooKeeper at `servers` (`host:port`) for base path `basePath`.
 *
 * @example
 * ```ts
 * import { openZooKeeper } from "@rpcx/core/cli";
 * const r = openZooKeeper("zookeeper://127.0.0.1:2181/rpcx_test", ["127.0.0.1:2181"], "/rpcx_test");
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export function openZooKeeper(url: string, servers: string[], basePath: string): RegistryAdmin {
  const base = "/" + basePath.split("/").filter((s) => s !== "").join("/");
  const where = `zookeeper ${servers.join(",")}`;
  // The registries' own session (servers that answer first, bounded connection attempts),
  // opened at the first call: opening contacts nothing.
  let session: ZkSession | undefined;
  const zk = () => (session ??= new ZkSession(servers, {
    sessionTimeout: 10_000,
    spinDelay: 500,
    opTimeout: REQUEST_TIMEOUT,
  }, {}));

  const children = async (path: string): Promise<string[]> => {
    try {
      return await zk().getChildren(path);
    } catch (e) {
      if (codeOf(e) === NO_NODE) return [];
      throw unreachable(where, e);
    }
  };
  const data = async (path: string): Promise<{ value: string; version: number } | undefined> => {
    try {
      const { value, stat } = await zk().getDataStat(path);
      return { value, version: stat?.version ?? -1 };
    } catch (e) {
      if (codeOf(e) === NO_NODE) return undefined;
      throw unreachable(where, e);
    }
  };

  return {
    url,
    writable: true,
    async list(service?: string): Promise<ServerNode[]> {
      const services = service === undefined ? await children(base) : [service];
      const nodes: ServerNode[] = [];
      for (const s of services) {
        for (const key of await children(`${base}/${s}`)) {
          const d = await data(`${base}/${s}/${key}`);
          if (d) nodes.push({ service: s, key, metadata: d.value });
        }
      }
      return sortNodes(nodes);
    },
    async update(service, key, edit): Promise<string> {
      const path = `${base}/${service}/${key}`;
      for (let i = 0; i < CAS_TRIES; i++) {
        const d = await data(path);
        if (!d) throw nodeMissing(service, key, url);
        const meta = new URLSearchParams(d.value);
        edit(meta);
        const next = encodeGoValues(meta);
        try {
          // setData keeps the node ephemeral, owned by the server's session.
          await zk().setData(path, next, d.version);
          return next;
        } catch (e) {
          if (codeOf(e) === NO_NODE) throw nodeMissing(service, key, url);
          if (codeOf(e) !== BAD_VERSION) throw unreachable(where, e);
        }
      }
      throw new CliError(`${path} kept changing; not written`, ExitCode.Failed);
    },
    discovery(service: string): ServiceDiscovery {
      return new ZooKeeperDiscovery(basePath, service, servers);
    },
    async close(): Promise<void> {
      const s = session;
      session = undefined;
      await s?.close();
    },
  };
}
