/**
 * mDNS as the command line sees it: the `_rpcxservices` announcements of the local network.
 * Read-only: each server announces its own metadata.
 *
 * @module
 */
import { MdnsDiscovery, type MdnsDiscoveryOptions } from "@rpcx/core/mdns";
import type { ServiceDiscovery } from "../../registry/discovery.ts";
import { CliError, ExitCode } from "../errors.ts";
import { type RegistryAdmin, type ServerNode, sortNodes } from "./registry.ts";

/**
 * Opens mDNS browsing (`timeout`: how long one browse listens, ms; default 1000).
 *
 * @example
 * ```ts
 * import { openMdns } from "@rpcx/core/cli";
 * const r = openMdns("mdns://", { timeout: 1000 });
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export function openMdns(url: string, options: MdnsDiscoveryOptions = {}): RegistryAdmin {
  const opts = { timeout: 1000, watchInterval: 2000, ...options };
  let browser: MdnsDiscovery | undefined;
  return {
    url,
    writable: false,
    async list(service?: string): Promise<ServerNode[]> {
      if (!browser) {
        browser = new MdnsDiscovery("", opts);
        await browser.ready();
      }
      const nodes = new Map<string, ServerNode>();
      for (const e of browser.entries) {
        if (!e.service || !e.service_address) continue;
        if (service !== undefined && e.service !== service) continue;
        const node = { service: e.service, key: e.service_address, metadata: e.meta ?? "" };
        nodes.set(`${node.service} ${node.key}`, node);
      }
      return sortNodes([...nodes.values()]);
    },
    update(): Promise<string> {
      return Promise.reject(
        new CliError(
          "mdns: each server announces its own metadata; there is no registry to write to",
          ExitCode.Usage,
        ),
      );
    },
    discovery(service: string): ServiceDiscovery {
      return new MdnsDiscovery(service, opts);
    },
    async close(): Promise<void> {
      await browser?.close();
      browser = undefined;
    },
  };
}
