/**
 * IP allow and deny lists, checked when a connection is accepted: single addresses and CIDR
 * masks, IPv4 and IPv6 (an IPv4-mapped IPv6 peer such as `::ffff:10.0.0.1` matches IPv4
 * entries). Go: `serverplugin.WhitelistPlugin`, `serverplugin.BlacklistPlugin`.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { ipAllowList, ipDenyList } from "@rpcx/core/plugins/ipfilter";
 * const server = new Server({
 *   plugins: [ipAllowList(["127.0.0.1", "10.0.0.0/8", "::1"]), ipDenyList(["10.6.6.0/24"])],
 * });
 * ```
 *
 * @module
 */
import { BlockList, isIP } from "node:net";
import type { ServerPlugin } from "../server/plugin.ts";

type ConnInfo = Parameters<NonNullable<ServerPlugin["connAccept"]>>[0];

/**
 * A set of addresses and CIDR masks (`192.168.1.7`, `172.17.0.0/16`, `fd00::/8`).
 *
 * @example
 * ```ts
 * import { IpSet } from "@rpcx/core/plugins/ipfilter";
 * const s = new IpSet(["172.17.0.0/16", "::1"]);
 * console.log(s.has("172.17.3.4"), s.has("172.18.0.1"), s.has("::1")); // true false true
 * ```
 */
export class IpSet {
  readonly #list = new BlockList();

  /** Parses `entries`; throws `TypeError` naming the first one that is not an IP or CIDR. */
  constructor(entries: Iterable<string>) {
    for (const entry of entries) {
      const [ip, bits, extra] = entry.trim().split("/");
      const family = isIP(ip);
      const max = family === 4 ? 32 : 128;
      const prefix = bits === undefined ? max : Number(bits);
      if (
        family === 0 || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 ||
        prefix > max || (bits !== undefined && !/^\d+$/.test(bits))
      ) {
        throw new TypeError(`not an IP address or CIDR mask: ${JSON.stringify(entry)}`);
      }
      const type = family === 4 ? "ipv4" : "ipv6";
      if (prefix === max) this.#list.addAddress(ip, type);
      else this.#list.addSubnet(ip, prefix, type);
    }
  }

  /** Whether `ip` is in the set; false for anything that is not an IP address. */
  has(ip: string): boolean {
    const family = isIP(ip);
    if (family === 0) return false;
    return this.#list.check(ip, family === 4 ? "ipv4" : "ipv6");
  }
}

/**
 * The IP of a `host:port` or `[v6]:port` address (undefined when there is none, e.g. an
 * in-process peer).
 *
 * @example
 * ```ts
 * import { remoteIp } from "@rpcx/core/plugins/ipfilter";
 * console.log(remoteIp("[::1]:8972"), remoteIp("127.0.0.1:5000")); // "::1" "127.0.0.1"
 * ```
 */
export function remoteIp(address: string): string | undefined {
  let host = address;
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracket) host = bracket[1];
  else if (address.indexOf(":") === address.lastIndexOf(":")) host = address.split(":")[0];
  host = host.replace(/%.*$/, ""); // zone
  return isIP(host) ? host : undefined;
}

function peerIp(conn: ConnInfo): string | undefined {
  return conn.network === "inprocess" ? undefined : remoteIp(conn.remoteAddress);
}

/**
 * Accepts only connections from the listed addresses and masks; others are closed at once
 * (in-process connections, which have no IP, are accepted). Go: `serverplugin.WhitelistPlugin`.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { ipAllowList } from "@rpcx/core/plugins/ipfilter";
 * new Server().use(ipAllowList(["127.0.0.0/8", "::1"]));
 * ```
 */
export function ipAllowList(entries: Iterable<string>): ServerPlugin & { readonly set: IpSet } {
  const set = new IpSet(entries);
  return {
    name: "ip-allow-list",
    set,
    connAccept(conn) {
      if (conn.network === "inprocess") return true;
      const ip = peerIp(conn);
      return ip !== undefined && set.has(ip);
    },
  };
}

/**
 * Closes connections from the listed addresses and masks at once; accepts the rest. Go:
 * `serverplugin.BlacklistPlugin`.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { ipDenyList } from "@rpcx/core/plugins/ipfilter";
 * new Server().use(ipDenyList(["203.0.113.0/24"]));
 * ```
 */
export function ipDenyList(entries: Iterable<string>): ServerPlugin & { readonly set: IpSet } {
  const set = new IpSet(entries);
  return {
    name: "ip-deny-list",
    set,
    connAccept(conn) {
      const ip = peerIp(conn);
      return ip === undefined || !set.has(ip);
    },
  };
}
