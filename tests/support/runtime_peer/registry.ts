// The registries of tests/support/runtime_peer.ts (run under Node and Bun from the installed npm
// package): our register plugin and our discovery for each registry the Go peer's `--registry`
// knows (etcd, zookeeper, consul, redis, mdns), built from the same flags. Each registry's
// subpath is imported only when asked for, as a user's program would import one.
import type { ServiceDiscovery } from "@rpcx/core";
import type { RegisterPlugin } from "@rpcx/core/extend";
import { flag } from "../../../examples/arith.ts";

/** The registry flags, as `rpcxpeer server|client` takes them. */
export interface RegistryFlags {
  /** `etcd`, `zookeeper`, `consul`, `redis`, `mdns`, or "" (none). */
  kind: string;
  /** `--registry-addr`: host:port[,host:port...]. */
  servers: string[];
  /** `--base`, default `/rpcx_test`. */
  base: string;
  /** `--update-interval` in ms (the plugin's refresh; mDNS: the browse period), default 1000. */
  interval: number;
}

/** Reads the registry flags from `args`. */
export function registryFlags(args: string[]): RegistryFlags {
  return {
    kind: flag(args, "registry", ""),
    servers: flag(args, "registry-addr", "").split(",").filter((s) => s !== ""),
    base: flag(args, "base", "/rpcx_test"),
    interval: Number(flag(args, "update-interval", "1000")),
  };
}

/** Our register plugin for `r` (its node lives two intervals where the registry has a TTL). */
export async function registryPlugin(r: RegistryFlags): Promise<RegisterPlugin> {
  const common = { servers: r.servers, basePath: r.base, updateInterval: r.interval };
  switch (r.kind) {
    case "etcd": {
      const { EtcdRegisterPlugin } = await import("@rpcx/core/etcd");
      return new EtcdRegisterPlugin(common);
    }
    case "zookeeper": {
      const { ZooKeeperRegisterPlugin } = await import("@rpcx/core/zookeeper");
      return new ZooKeeperRegisterPlugin(common);
    }
    case "consul": {
      const { ConsulRegisterPlugin } = await import("@rpcx/core/consul");
      return new ConsulRegisterPlugin(common);
    }
    case "redis": {
      const { RedisRegisterPlugin } = await import("@rpcx/core/redis");
      return new RedisRegisterPlugin(common);
    }
    case "mdns": {
      const { MdnsRegisterPlugin } = await import("@rpcx/core/mdns");
      return new MdnsRegisterPlugin({ updateInterval: r.interval, ttl: 30 });
    }
  }
  throw new TypeError(`unknown registry "${r.kind}" (etcd, zookeeper, consul, redis, mdns)`);
}

/** Our discovery of `service` in `r`. */
export async function registryDiscovery(
  r: RegistryFlags,
  service: string,
): Promise<ServiceDiscovery> {
  switch (r.kind) {
    case "etcd": {
      const { EtcdDiscovery } = await import("@rpcx/core/etcd");
      return new EtcdDiscovery(r.base, service, r.servers);
    }
    case "zookeeper": {
      const { ZooKeeperDiscovery } = await import("@rpcx/core/zookeeper");
      return new ZooKeeperDiscovery(r.base, service, r.servers);
    }
    case "consul": {
      const { ConsulDiscovery } = await import("@rpcx/core/consul");
      return new ConsulDiscovery(r.base, service, r.servers);
    }
    case "redis": {
      const { RedisDiscovery } = await import("@rpcx/core/redis");
      return new RedisDiscovery(r.base, service, r.servers);
    }
    case "mdns": {
      const { MdnsDiscovery } = await import("@rpcx/core/mdns");
      return new MdnsDiscovery(service, { timeout: 500, watchInterval: r.interval });
    }
  }
  throw new TypeError(`unknown registry "${r.kind}" (etcd, zookeeper, consul, redis, mdns)`);
}
