/**
 * The multicast DNS socket (npm `multicast-dns`), typed for what the mDNS registry uses, with
 * the permission check it needs and promise-returning send and close.
 *
 * @module
 */
import createMulticastDns from "multicast-dns";
import { runtime } from "../../runtime/mod.ts";

/**
 * Options passed to the `multicast-dns` socket (advanced; the defaults join 224.0.0.251:5353 on
 * every IPv4 interface). Do not set `interface: "127.0.0.1"`: queries then go unanswered.
 *
 * @example
 * ```ts
 * import type { MdnsSocketOptions } from "@rpcx/core/mdns";
 * const o: MdnsSocketOptions = { port: 5353, ip: "224.0.0.251" };
 * console.log(o.port);
 * ```
 */
export interface MdnsSocketOptions {
  /** UDP port (default 5353). */
  port?: number;
  /** Multicast group (default 224.0.0.251). */
  ip?: string;
  /** Interface address(es) to join the group on (default: all IPv4 interfaces). */
  interface?: string | string[];
  /** Multicast TTL (default 255). */
  ttl?: number;
  /** Receive our own multicast packets (default true). */
  loopback?: boolean;
}

/** A question of a DNS packet. */
export interface DnsQuestion {
  name: string;
  type: string;
  class?: string | number;
}

/** A resource record of a DNS packet. */
export interface DnsRecord {
  name: string;
  type: string;
  ttl?: number;
  class?: string;
  flush?: boolean;
  data?: unknown;
}

/** A DNS packet as multicast-dns reads and writes it. */
export interface DnsPacket {
  id?: number;
  type?: "query" | "response";
  flags?: number;
  questions?: DnsQuestion[];
  answers?: DnsRecord[];
  authorities?: DnsRecord[];
  additionals?: DnsRecord[];
}

/** Where a packet came from. */
export interface RemoteInfo {
  address: string;
  port: number;
}

/** The multicast-dns socket, typed for what we use. */
export interface MulticastDns {
  on(event: "query" | "response", listener: (p: DnsPacket, r: RemoteInfo) => void): void;
  on(event: "error" | "warning", listener: (e: Error) => void): void;
  once(event: "ready", listener: () => void): void;
  send(p: DnsPacket, rinfo: RemoteInfo | null, cb: (err?: Error | null) => void): void;
  destroy(cb: () => void): void;
}

/** The mDNS port. */
export const MDNS_PORT = 5353;
/** The AA bit of the DNS header flags. */
export const AUTHORITATIVE_ANSWER = 1 << 10;

/**
 * Opens a socket; resolves once bound (and the multicast group joined). `onError` receives the
 * errors after that (multicast-dns may emit one failure twice: every one is handled).
 */
export function openSocket(
  options: MdnsSocketOptions | undefined,
  onError: (e: Error) => void,
): Promise<MulticastDns> {
  checkPermissions();
  const m = createMulticastDns({ ...options }) as MulticastDns;
  return new Promise((resolve, reject) => {
    let settled = false;
    m.on("warning", () => {});
    m.on("error", (e) => {
      if (settled) return onError(e);
      settled = true;
      m.destroy(() => reject(e));
    });
    m.once("ready", () => {
      if (settled) return;
      settled = true;
      resolve(m);
    });
  });
}

/** What the mDNS registry needs (Deno asks for them; Node and Bun have none to ask). */
export const MDNS_PERMISSIONS = ["net", "sys:networkInterfaces", "sys:hostname"] as const;

/**
 * multicast-dns reads the network interfaces from an event handler, where a missing permission
 * would be an uncaught error: ask first (Deno may prompt), and fail with a clear
 * `PermissionError` naming the missing ones.
 */
export function checkPermissions(): void {
  runtime().process.requirePermissions(
    MDNS_PERMISSIONS,
    "mdns needs --allow-net and --allow-sys=networkInterfaces,hostname",
  );
}

/** Sends one packet (multicast, or to `to`). */
export function sendPacket(
  m: MulticastDns,
  p: DnsPacket,
  to: RemoteInfo | null = null,
): Promise<void> {
  return new Promise((resolve, reject) => m.send(p, to, (e) => (e ? reject(e) : resolve())));
}

/** Closes the socket. */
export function closeSocket(m: MulticastDns): Promise<void> {
  return new Promise((resolve) => m.destroy(() => resolve()));
}
