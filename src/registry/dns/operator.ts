/**
 * DNS for an operator (`rpcx list/watch/call`): the servers a name resolves to, as
 * {@linkcode DnsDiscovery} finds them. Read-only: whoever owns the zone publishes the records.
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
  unreachableError,
  usageError,
} from "../operator.ts";
import { DnsDiscovery, type DnsDiscoveryOptions } from "./discovery.ts";
import { DnsLookupError, type LookupPlan, lookupServers, parseNameserver } from "./resolve.ts";

/** Codes that mean "this name has no such record": an empty list, not a failure. */
const NO_RECORD = new Set(["ENOTFOUND", "ENODATA"]);

/**
 * Opens the name of `target`: `dns://name:port` (A/AAAA records; `port` of every server),
 * `dns://_rpcx._tcp.name?srv=1` (SRV records, their ports and weights). Parameters:
 * `nameserver=ip[:port][,ip[:port]]` (default: the system's resolver), `family=4|6`,
 * `network=tcp` (of every key), `timeout=ms` (of one lookup, default 5000), `interval=ms` (how
 * often a call's discovery resolves again, default 10 000). Servers are listed under the service
 * asked for, or `*`: a name serves every service path.
 *
 * @example
 * ```ts
 * import { openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("dns://arith.default.svc.cluster.local:8972?nameserver=10.96.0.10");
 * console.log(await r.list("Arith"));
 * await r.close();
 * ```
 */
export function openOperator(target: OperatorTarget): RegistryOperator {
  checkTarget(target, { tls: "DNS lookups have no TLS" }, [
    "nameserver",
    "srv",
    "family",
    "network",
    "timeout",
    "interval",
  ]);
  const bad = (why: string) => usageError("dns", `registry "${target.url}": ${why}`);
  const p = target.params;
  if (target.servers.length !== 1) throw bad("give one name, dns://name:port");
  const m = /^(.*?)(?::(\d+))?$/.exec(target.servers[0])!;
  const domain = m[1];
  const srvText = p.get("srv");
  const srv = srvText === "1" || srvText === "true";
  if (srvText !== null && !srv && srvText !== "0" && srvText !== "false") throw bad("srv=1 or 0");
  const port = m[2] === undefined ? 0 : Number(m[2]);
  if (!srv && !(port >= 1 && port <= 65535)) throw bad("give the servers' port, dns://name:port");
  const familyText = p.get("family") ?? "0";
  if (!["0", "4", "6"].includes(familyText)) throw bad("family must be 4 or 6");
  let nameservers: string[] = [];
  try {
    nameservers = (p.get("nameserver") ?? "").split(",").filter((s) => s !== "").map(
      parseNameserver,
    );
  } catch (e) {
    throw bad((e as Error).message);
  }
  const options: DnsDiscoveryOptions = {
    srv,
    family: Number(familyText) as 0 | 4 | 6,
    nameserver: nameservers.length ? nameservers : undefined,
    timeoutMs: msParam(target, "timeout", 5000),
  };
  const network = p.get("network") ?? "tcp";
  const interval = msParam(target, "interval", 10_000);
  const plan: LookupPlan = {
    domain,
    network,
    port,
    srv,
    family: options.family!,
    nameservers,
    timeoutMs: options.timeoutMs!,
  };
  const stop = new AbortController();
  const via = nameservers.length ? nameservers.join(",") : "the system's resolver";
  return {
    url: target.url,
    writable: false,
    async list(service?: string): Promise<ServerNode[]> {
      let pairs;
      try {
        pairs = await lookupServers(plan, stop.signal);
      } catch (e) {
        if (e instanceof DnsLookupError && NO_RECORD.has(e.code)) return [];
        throw unreachableError("dns", "list", `dns ${domain} via ${via}`, e);
      }
      return sortNodes(
        pairs.map((kv) => ({ service: service ?? "*", key: kv.key, metadata: kv.value })),
      );
    },
    update(): Promise<string> {
      return readOnly(
        "dns",
        "dns: the zone's owner publishes the records; there is nothing to write to",
      );
    },
    discovery(_service: string): ServiceDiscovery {
      return new DnsDiscovery(domain, network, port, interval, options);
    },
    close(): Promise<void> {
      stop.abort();
      return Promise.resolve();
    },
  };
}
