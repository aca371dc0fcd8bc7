/**
 * mDNS for an operator (`rpcx list/watch/ui`): the `_rpcxservices` announcements of the local
 * network. Read-only: each server announces its own metadata.
 *
 * @module
 */
import type { ServiceDiscovery } from "../discovery.ts";
import {
  checkTarget,
  msParam,
  type OperatorTarget,
  readOnly,
  type RegistryOperator,
  type ServerNode,
  sortNodes,
} from "../operator.ts";
import { MdnsDiscovery } from "./discovery.ts";

/**
 * Opens mDNS browsing for `target` (`mdns://?timeout=ms`: how long one browse listens, default
 * 1000). Nothing is sent before the first call.
 *
 * @example
 * ```ts
 * import { openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("mdns://?timeout=1000");
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export function openOperator(target: OperatorTarget): RegistryOperator {
  checkTarget(target, { tls: "mDNS has no TLS" }, ["timeout"]);
  const opts = { timeout: msParam(target, "timeout", 1000), watchInterval: 2000 };
  let browser: MdnsDiscovery | undefined;
  return {
    url: target.url,
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
      return readOnly(
        "mdns",
        "mdns: each server announces its own metadata; there is no registry to write to",
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
