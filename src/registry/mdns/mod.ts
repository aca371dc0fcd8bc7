/**
 * mDNS / DNS-SD registry, compatible with Go rpcx's `serverplugin.MDNSRegisterPlugin` and
 * `client.MDNSDiscovery` (which use grandcat/zeroconf).
 *
 * A server advertises one DNS-SD instance (RFC 6763) over multicast DNS (RFC 6762): a PTR record
 * from the service type to the instance, an SRV record with the server's port, A/AAAA records of
 * the host, and ONE TXT string holding the URL-query-escaped JSON array
 * `[{"service":..,"meta":..,"service_address":"tcp@host:port"}]`, one object per registered
 * service, byte for byte as Go writes it (`url.QueryEscape(json.Marshal(services))`).
 *
 * Service types: Go rpcx passes `_rpcxservices` to zeroconf, which announces it as is, i.e. under
 * `_rpcxservices.local.` (no `_tcp` label). Standard browsers (avahi-browse, Bonjour, python
 * zeroconf) only accept `_name._tcp` types, so by default both `_rpcxservices` and
 * `_rpcxservices._tcp` are announced and browsed ({@linkcode MDNS_SERVICE_TYPES}).
 *
 * Permissions: `--allow-net` and `--allow-sys=networkInterfaces,hostname`.
 *
 * A DNS TXT string holds at most 255 bytes. Go rpcx writes (and its clients read) a single string,
 * so a Go client can only use a server whose TXT fits, which is one or two services; longer TXT
 * text is split into several strings here, and {@linkcode MdnsDiscovery} joins them back.
 *
 * @example
 * ```ts
 * import { FailMode, SelectMode, Server, XClient } from "@rpcx/core";
 * import { MdnsDiscovery, MdnsRegisterPlugin } from "@rpcx/core/mdns";
 *
 * const server = new Server();
 * server.use(new MdnsRegisterPlugin({ updateInterval: 10_000 }));
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * await server.serve("tcp", "127.0.0.1:8972");
 *
 * const discovery = new MdnsDiscovery("Arith", { timeout: 1000, watchInterval: 5000 });
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, discovery);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 })); // { C: 200 }
 * ```
 *
 * @module
 */
export { MDNS_SERVICE_TYPES } from "./names.ts";
export type { MdnsSocketOptions } from "./socket.ts";
export type { MdnsServiceEntry } from "./txt.ts";
export { type MdnsRegisterOptions, MdnsRegisterPlugin } from "./register.ts";
export { MdnsDiscovery, type MdnsDiscoveryOptions } from "./discovery.ts";
