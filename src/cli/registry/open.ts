/**
 * Registries named by URL.
 *
 * @module
 */
import { usage } from "../errors.ts";
import type { RegistryAdmin } from "./registry.ts";

/**
 * A registry URL taken apart: `etcd://h:p[,h:p]/base`, `zookeeper://…/base`, `consul://h:p/base`,
 * `mdns://[?timeout=ms]`, or servers directly as `tcp@h:p[,tcp@h:p]` (`tcp://h:p` too).
 *
 * @example
 * ```ts
 * import { parseRegistryUrl } from "@rpcx/core/cli";
 * console.log(parseRegistryUrl("etcd://127.0.0.1:2379/rpcx_test"));
 * // { kind: "etcd", servers: ["127.0.0.1:2379"], basePath: "/rpcx_test", params: URLSearchParams {} }
 * ```
 */
export interface RegistryUrl {
  /** `etcd`, `zookeeper`, `consul`, `mdns` or `direct`. */
  kind: "etcd" | "zookeeper" | "consul" | "mdns" | "direct";
  /** `host:port` of the registry, or `network@host:port` of each server for `direct`. */
  servers: string[];
  /** Base path (default `/rpcx`, Go's default); unused for mdns and direct. */
  basePath: string;
  /** Query parameters (e.g. mdns `timeout`). */
  params: URLSearchParams;
}

const SCHEMES: Record<string, RegistryUrl["kind"]> = {
  etcd: "etcd",
  etcdv3: "etcd",
  zookeeper: "zookeeper",
  zk: "zookeeper",
  consul: "consul",
  mdns: "mdns",
};

const DEFAULT_PORTS: Record<string, string> = {
  etcd: "2379",
  zookeeper: "2181",
  consul: "8500",
};

/**
 * Parses a registry URL (see {@linkcode RegistryUrl}); throws a `CliError` (exit 2) on an
 * unknown scheme or a missing host.
 */
export function parseRegistryUrl(text: string): RegistryUrl {
  const t = text.trim();
  const direct = t.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (direct.length > 0 && direct.every((s) => /^(tcp|tcp4|tcp6|unix|inprocess)@./.test(s))) {
    return { kind: "direct", servers: direct, basePath: "", params: new URLSearchParams() };
  }
  const m = t.match(/^([a-z0-9]+):\/\/([^/?]*)([^?]*)(?:\?(.*))?$/i);
  if (!m) {
    throw usage(
      `registry "${text}": expected etcd://host:port/base, zookeeper://…, consul://…, mdns:// ` +
        `or tcp@host:port`,
    );
  }
  const [, scheme, hosts, path, query] = m;
  const params = new URLSearchParams(query ?? "");
  const lower = scheme.toLowerCase();
  if (lower === "tcp") {
    if (!hosts) throw usage(`registry "${text}": no host:port`);
    return {
      kind: "direct",
      servers: hosts.split(",").map((h) => `tcp@${h}`),
      basePath: "",
      params,
    };
  }
  const kind = SCHEMES[lower];
  if (!kind) throw usage(`registry "${text}": unknown scheme ${scheme}://`);
  if (kind === "mdns") return { kind, servers: [], basePath: "", params };
  if (!hosts) throw usage(`registry "${text}": no host:port`);
  const servers = hosts.split(",").map((
    h,
  ) => (h.includes(":") ? h : `${h}:${DEFAULT_PORTS[kind]}`));
  const basePath = path && path !== "/" ? path.replace(/\/+$/, "") : "/rpcx";
  return { kind, servers, basePath, params };
}

/**
 * Opens the registry named by `url` (see {@linkcode parseRegistryUrl}), loading only that
 * registry's client. Nothing is contacted until the first call; close it when done. Throws a
 * `CliError` (exit 2) on a malformed URL.
 *
 * @example
 * ```ts
 * import { openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("zookeeper://127.0.0.1:2181/rpcx_test");
 * for (const n of await r.list()) console.log(n.service, n.key, n.metadata);
 * await r.close();
 * ```
 */
export async function openRegistry(url: string): Promise<RegistryAdmin> {
  const u = parseRegistryUrl(url);
  // Each registry's npm client is loaded only when used (etcd3 alone takes about a second).
  switch (u.kind) {
    case "etcd":
      return (await import("./etcd.ts")).openEtcd(url, u.servers, u.basePath);
    case "zookeeper":
      return (await import("./zookeeper.ts")).openZooKeeper(url, u.servers, u.basePath);
    case "consul":
      return (await import("./consul.ts")).openConsul(url, u.servers, u.basePath);
    case "mdns": {
      const timeout = Number(u.params.get("timeout") ?? 1000);
      if (!(timeout > 0)) throw usage(`registry "${url}": timeout must be a positive number of ms`);
      return (await import("./mdns.ts")).openMdns(url, { timeout });
    }
    case "direct":
      return (await import("./direct.ts")).openDirect(url, u.servers);
  }
}
