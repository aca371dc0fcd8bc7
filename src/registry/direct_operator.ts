/**
 * Servers named directly (`tcp@host:port[,tcp@host:port]`) for an operator: no registry,
 * nothing to edit; each server is asked for a heartbeat.
 *
 * @module
 */
import { Client } from "../client/client.ts";
import { queryEscape } from "../_internal/go/url.ts";
import type { ServiceDiscovery } from "./discovery.ts";
import { MultipleServersDiscovery } from "./multiple_servers.ts";
import { readOnly, type RegistryOperator, type ServerNode } from "./operator.ts";
import { Peer2PeerDiscovery } from "./peer2peer.ts";

/**
 * Servers at `keys` (`network@host:port`). `list` sends each a heartbeat and lists it under
 * service `*` with metadata `state=up` (or `state=down&error=…`): a server does not tell its
 * services.
 *
 * @example
 * ```ts
 * import { openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("tcp@127.0.0.1:8972");
 * console.log(await r.list());
 * ```
 */
export function openDirect(url: string, keys: string[]): RegistryOperator {
  return {
    url,
    writable: false,
    async list(): Promise<ServerNode[]> {
      return await Promise.all(keys.map(async (key) => {
        const c = new Client(key, { connectTimeout: 2000 });
        try {
          await c.heartbeat({ timeout: 2000 });
          return { service: "*", key, metadata: "state=up" };
        } catch (e) {
          const why = queryEscape((e as Error).message);
          return { service: "*", key, metadata: `state=down&error=${why}` };
        } finally {
          await c.close();
        }
      }));
    },
    update(): Promise<string> {
      return readOnly(
        "direct",
        "servers named directly have no registry to write to; use a registry URL",
      );
    },
    discovery(_service: string): ServiceDiscovery {
      return keys.length === 1
        ? new Peer2PeerDiscovery(keys[0])
        : new MultipleServersDiscovery(keys.map((key) => ({ key, value: "" })));
    },
    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}
