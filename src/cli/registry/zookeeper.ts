/**
 * ZooKeeper as the command line sees it: `/basePath/Service/network@host:port` nodes holding
 * the metadata (ephemeral, owned by the server's session), as Go rpcx-zookeeper writes them.
 *
 * @module
 */
import zookeeper from "node-zookeeper-client";
import { Buffer } from "node:buffer";
import { ZooKeeperDiscovery } from "@rpcx/core/zookeeper";
import type { ServiceDiscovery } from "../../registry/discovery.ts";
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
const NO_NODE = -101;
const BAD_VERSION = -103;
const CAS_TRIES = 5;

interface ZkError {
  code: number;
  message: string;
}
interface ZkStat {
  version: number;
}
type Cb<T> = (error: ZkError | null, result: T, stat?: ZkStat) => void;
interface ZkClient {
  connect(): void;
  close(): void;
  once(event: "connected", listener: () => void): void;
  getChildren(path: string, cb: Cb<string[]>): void;
  getData(path: string, cb: Cb<Buffer | undefined>): void;
  setData(path: string, data: Buffer, version: number, cb: Cb<ZkStat>): void;
}
const zk = zookeeper as unknown as {
  createClient(
    s: string,
    o: { sessionTimeout: number; spinDelay: number; retries: number },
  ): ZkClient;
};

class ZkOpError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/**
 * Opens ZooKeeper at `servers` (`host:port`) for base path `basePath`.
 *
 * @example
 * ```ts ignore
 * import { openZooKeeper } from "@rpcx/core/cli";
 * const r = openZooKeeper("zookeeper://127.0.0.1:2181/rpcx_test", ["127.0.0.1:2181"], "/rpcx_test");
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export function openZooKeeper(url: string, servers: string[], basePath: string): RegistryAdmin {
  const base = "/" + basePath.split("/").filter((s) => s !== "").join("/");
  const where = `zookeeper ${servers.join(",")}`;
  let client: ZkClient | undefined;
  let connecting: Promise<ZkClient> | undefined;

  function connect(): Promise<ZkClient> {
    connecting ??= new Promise<ZkClient>((resolve, reject) => {
      const c = zk.createClient(servers.join(","), {
        sessionTimeout: 10_000,
        spinDelay: 500,
        retries: 0,
      });
      const timer = setTimeout(() => {
        c.close();
        connecting = undefined;
        reject(unreachable(where, `not connected within ${REQUEST_TIMEOUT} ms`));
      }, REQUEST_TIMEOUT);
      c.once("connected", () => {
        clearTimeout(timer);
        client = c;
        resolve(c);
      });
      c.connect();
    });
    return connecting;
  }

  async function op<T>(what: string, run: (c: ZkClient, cb: Cb<T>) => void): Promise<[T, ZkStat?]> {
    const c = await connect();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await new Promise<[T, ZkStat?]>((resolve, reject) => {
        timer = setTimeout(
          () => reject(unreachable(where, `${what}: no answer within ${REQUEST_TIMEOUT} ms`)),
          REQUEST_TIMEOUT,
        );
        run(c, (err, result, stat) => {
          if (err) reject(new ZkOpError(err.code, `${what}: ${err.message}`));
          else resolve([result, stat]);
        });
      });
    } finally {
      clearTimeout(timer);
    }
  }

  const children = async (path: string): Promise<string[]> => {
    try {
      return (await op<string[]>(`getChildren ${path}`, (c, cb) => c.getChildren(path, cb)))[0];
    } catch (e) {
      if (e instanceof ZkOpError && e.code === NO_NODE) return [];
      throw e instanceof ZkOpError ? unreachable(where, e) : e;
    }
  };
  const data = async (path: string): Promise<{ value: string; version: number } | undefined> => {
    try {
      const [buf, stat] = await op<Buffer | undefined>(
        `getData ${path}`,
        (c, cb) => c.getData(path, cb),
      );
      return { value: buf ? buf.toString("utf8") : "", version: stat?.version ?? -1 };
    } catch (e) {
      if (e instanceof ZkOpError && e.code === NO_NODE) return undefined;
      throw e instanceof ZkOpError ? unreachable(where, e) : e;
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
          await op<ZkStat>(
            `setData ${path}`,
            (c, cb) => c.setData(path, Buffer.from(next), d.version, cb),
          );
          return next;
        } catch (e) {
          if (!(e instanceof ZkOpError)) throw e;
          if (e.code === NO_NODE) throw nodeMissing(service, key, url);
          if (e.code !== BAD_VERSION) throw unreachable(where, e);
        }
      }
      throw new CliError(`${path} kept changing; not written`, ExitCode.Failed);
    },
    discovery(service: string): ServiceDiscovery {
      return new ZooKeeperDiscovery(basePath, service, servers);
    },
    close(): Promise<void> {
      client?.close();
      client = undefined;
      connecting = undefined;
      return Promise.resolve();
    },
  };
}
