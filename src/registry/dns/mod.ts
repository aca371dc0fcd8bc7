/**
 * DNS discovery, as Go rpcx's `client.NewDNSDiscovery(domain, network, port, d)`: the servers of
 * a service are the addresses of a DNS name (Kubernetes' headless services, the maintainers'
 * advice for rpcx on k8s), re-resolved every `d`; beyond Go, the targets of SRV records and a
 * chosen name server. There is no register plugin: whoever owns the zone (Kubernetes, an
 * operator) publishes the records. Built on `node:dns` (no npm package).
 *
 * @example
 * ```ts
 * import { FailMode, SelectMode, XClient } from "@rpcx/core";
 * import { DnsDiscovery } from "@rpcx/core/dns";
 *
 * // the SRV records of a headless service's named port, asked of the cluster's DNS
 * const d = new DnsDiscovery("_rpcx._tcp.arith.default.svc.cluster.local", "tcp", 0, 10_000, {
 *   srv: true,
 *   nameserver: "10.96.0.10:53",
 * });
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.WeightedRoundRobin, d);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 })); // { C: 200 }
 * await xclient.close();
 * await d.close();
 * ```
 *
 * @module
 */
export { DnsDiscovery, type DnsDiscoveryOptions } from "./discovery.ts";
export { DnsLookupError } from "./resolve.ts";
