/**
 * DNS-SD names and the host's addresses, as the mDNS registry announces and browses them.
 *
 * @module
 */
import { runtime } from "../../runtime/mod.ts";

/**
 * The service types announced and browsed by default: Go rpcx's `_rpcxservices` (as zeroconf
 * sends it) and the RFC 6763 form `_rpcxservices._tcp` that standard browsers understand.
 *
 * @example
 * ```ts
 * import { MDNS_SERVICE_TYPES } from "@rpcx/core/mdns";
 * console.log(MDNS_SERVICE_TYPES.join(" ")); // "_rpcxservices _rpcxservices._tcp"
 * ```
 */
export const MDNS_SERVICE_TYPES: readonly string[] = Object.freeze([
  "_rpcxservices",
  "_rpcxservices._tcp",
]);

/** `name` without a trailing dot, lower case (DNS names compare case-insensitively). */
export function norm(name: string): string {
  return name.replace(/\.+$/, "").toLowerCase();
}

/** A DNS label from free text: at most 63 bytes, no dots. */
export function label(text: string): string {
  let s = text.replace(/\./g, "-").trim();
  while (new TextEncoder().encode(s).length > 63) s = s.slice(0, -1);
  return s || "rpcx";
}

/** The host name, or `rpcx` where it may not be read (Deno without `--allow-sys=hostname`). */
export function hostName(): string {
  return runtime().process.hostname() || "rpcx";
}

/** Addresses to advertise: non-loopback ones, or the loopback ones when there are no others. */
export function hostAddresses(): { v4: string[]; v6: string[] } {
  // Empty where they may not be read: loopback below.
  const list = runtime().process.networkInterfaces();
  const pick = (loopback: boolean) => {
    const v4 = new Set<string>();
    const v6 = new Set<string>();
    for (const i of list) {
      const isLoop = i.address.startsWith("127.") || i.address === "::1";
      if (isLoop !== loopback) continue;
      if (i.family === "IPv4") v4.add(i.address);
      else v6.add(i.address);
    }
    return { v4: [...v4], v6: [...v6] };
  };
  const external = pick(false);
  if (external.v4.length || external.v6.length) return external;
  const local = pick(true);
  return local.v4.length || local.v6.length ? local : { v4: ["127.0.0.1"], v6: [] };
}

/** Host and port of a `network@host:port` address. */
export function splitServiceAddress(address: string): { host: string; port: number } {
  const hostPort = address.slice(address.indexOf("@") + 1);
  const m = /^(?:\[([^\]]+)\]|(.*)):(\d+)$/.exec(hostPort);
  if (!m) throw new TypeError(`mdns: cannot read a port from service address "${address}"`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

/** The DNS-SD domain, normalized (default `local`). */
export function domainOf(domain: string | undefined): string {
  return norm(domain || "local.") || "local";
}
