/**
 * Servers named directly (`tcp@host:port[,tcp@host:port]`): no registry, nothing to edit.
 *
 * @module
 */
import { Client } from "../../client/client.ts";
import type { ServiceDiscovery } from "../../registry/discovery.ts";
import { MultipleServersDiscovery } from "../../registry/multiple_servers.ts";
import { Peer2PeerDiscovery } from "../../registry/peer2peer.ts";
import { CliError, ExitCode } from "../errors.ts";
import type { RegistryAdmin, ServerNode } from "./registry.ts";

/**
 * Servers at `keys` (`network@host:port`). `list` sends each a heartbeat and lists it under
 * service `*` with metadata `state=up` (or `state=down&error=…`): a server does not tell its
 * services.
 *
 * @example
 * ```ts
 * import { openDirect } from "@rpcx/core/cli";
 * const r = openDirect("tcp@127.0.0.1:8972", ["tcp@127.0.0.1:8972"]);
 * console.log(await r.list());
 * ```
 */
export function openDirect(url: string, keys: string[]): RegistryAdmin {
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
          const why = new URLSearchParams({ state: "down", error: (e as Error).message });
          return { service: "*", key, metadata: why.toString() };
        } finally {
          await c.close();
        }
      }));
    },
    update(): Promise<string> {
      return Promise.reject(
        new CliError(
          "servers named directly have no registry to write to; use a registry URL",
          ExitCode.Usage,
        ),
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
