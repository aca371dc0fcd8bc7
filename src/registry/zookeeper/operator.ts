/**
 * ZooKeeper for an operator (`rpcx list/watch/set/ui`): `/basePath/Service/network@host:port`
 * nodes holding the metadata (ephemeral, owned by the server's session), as Go rpcx-zookeeper
 * writes them, through the plugin's own session (digest auth, several servers).
 *
 * @module
 */
import type { ServiceDiscovery } from "../discovery.ts";
import {
  checkTarget,
  encodeGoValues,
  nodeBusy,
  nodeMissing,
  type OperatorTarget,
  type RegistryOperator,
  type ServerNode,
  sortNodes,
  unreachableError,
  usageError,
} from "../operator.ts";
import { parseMetadata } from "../metadata.ts";
import { ZooKeeperDiscovery } from "./discovery.ts";
import { BAD_VERSION, codeOf, NO_AUTH, NO_NODE } from "./errors.ts";
import { ZkSession, type ZooKeeperAuth } from "./session.ts";

/** How long connecting and each operation may take, ms. */
const REQUEST_TIMEOUT = 5000;
const CAS_TRIES = 5;

/**
 * Opens ZooKeeper for `target` (`zookeeper://user:pass@h1:2181,h2:2181/base`: the user and
 * password are digest auth, `addauth digest user:pass`). Nothing is contacted before the first
 * call.
 *
 * @example
 * ```ts
 * import { openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("zookeeper://rpcx:secret@127.0.0.1:2181/rpcx_test");
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export function openOperator(target: OperatorTarget): RegistryOperator {
  checkTarget(target, {
    tls: "ZooKeeper is reached without TLS (node-zookeeper-client has none)",
    ca: "ZooKeeper is reached without TLS",
    cert: "ZooKeeper is reached without TLS",
    key: "ZooKeeper is reached without TLS",
    token: "ZooKeeper takes digest auth (user:password@), not a token",
  });
  let auth: ZooKeeperAuth | undefined;
  if (target.username !== undefined || target.password !== undefined) {
    if (!target.username || target.password === undefined) {
      throw usageError(
        "zookeeper",
        `registry "${target.url}": digest auth needs both a user and a password`,
      );
    }
    auth = { username: target.username, password: target.password };
  }
  const { url, servers, basePath } = target;
  const base = "/" + basePath.split("/").filter((s) => s !== "").join("/");
  const where = `zookeeper ${servers.join(",")}`;
  const refused = (e: unknown, operation: string) =>
    codeOf(e) === NO_AUTH
      ? unreachableError(
        "zookeeper",
        operation,
        where,
        `${(e as Error).message}: ${
          auth ? `digest user ${auth.username} may not` : "give the digest user and password to"
        } do this`,
      )
      : unreachableError("zookeeper", operation, where, e);
  // The registries' own session (servers that answer first, bounded connection attempts),
  // opened at the first call: opening contacts nothing.
  let session: ZkSession | undefined;
  const zk = () => (session ??= new ZkSession(servers, {
    sessionTimeout: 10_000,
    spinDelay: 500,
    opTimeout: REQUEST_TIMEOUT,
    auth,
  }, {}));

  const children = async (path: string): Promise<string[]> => {
    try {
      return await zk().getChildren(path);
    } catch (e) {
      if (codeOf(e) === NO_NODE) return [];
      throw refused(e, "list");
    }
  };
  const data = async (path: string): Promise<{ value: string; version: number } | undefined> => {
    try {
      const { value, stat } = await zk().getDataStat(path);
      return { value, version: stat?.version ?? -1 };
    } catch (e) {
      if (codeOf(e) === NO_NODE) return undefined;
      throw refused(e, "list");
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
        if (!d) throw nodeMissing("zookeeper", service, key, url);
        const meta = parseMetadata(d.value);
        edit(meta);
        const next = encodeGoValues(meta);
        try {
          // setData keeps the node ephemeral, owned by the server's session.
          await zk().setData(path, next, d.version);
          return next;
        } catch (e) {
          if (codeOf(e) === NO_NODE) throw nodeMissing("zookeeper", service, key, url);
          if (codeOf(e) !== BAD_VERSION) throw refused(e, "update");
        }
      }
      throw nodeBusy("zookeeper", path);
    },
    discovery(service: string): ServiceDiscovery {
      return new ZooKeeperDiscovery(basePath, service, servers, { auth });
    },
    async close(): Promise<void> {
      const s = session;
      session = undefined;
      await s?.close();
    },
  };
}
