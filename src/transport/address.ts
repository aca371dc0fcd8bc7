/**
 * Addresses as Go rpcx writes them: `host:port` (IPv6 in brackets) and `network@address`.
 *
 * @module
 */

/**
 * Splits `host:port` (IPv6 as `[::1]:port`). Throws TypeError on a missing or bad port.
 *
 * @example
 * ```ts
 * import { splitHostPort } from "@rpcx/core/protocol";
 * console.log(splitHostPort("[::1]:8972")); // { hostname: "::1", port: 8972 }
 * ```
 */
export function splitHostPort(address: string): { hostname: string; port: number } {
  const i = address.lastIndexOf(":");
  if (i < 0) throw new TypeError(`address ${JSON.stringify(address)} has no port`);
  let hostname = address.slice(0, i);
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`address ${JSON.stringify(address)} has a bad port`);
  }
  if (hostname.startsWith("[") && hostname.endsWith("]")) hostname = hostname.slice(1, -1);
  return { hostname: hostname || "0.0.0.0", port };
}

/**
 * Joins host and port, bracketing IPv6 hosts.
 *
 * @example
 * ```ts
 * import { joinHostPort } from "@rpcx/core/protocol";
 * console.log(joinHostPort("::1", 80)); // "[::1]:80"
 * ```
 */
export function joinHostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
