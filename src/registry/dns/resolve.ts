/**
 * One round of DNS lookups for {@linkcode DnsDiscovery}: the addresses of a name (A/AAAA) or the
 * targets of its SRV records, through the system's resolver or chosen name servers, bounded in
 * time; and the typed error a failed round reports.
 *
 * @module
 */
import dns from "node:dns";
import { isIP } from "node:net";
import { deadline } from "../../_internal/async.ts";
import { RegistryError } from "../errors.ts";
import { joinHostPort } from "../../transport/address.ts";
import type { KVPair } from "../discovery.ts";

/**
 * A round of DNS lookups found no server: the name does not exist or has no record of the kind
 * asked (`ENOTFOUND`, `ENODATA`), the name server did not answer in time (`ETIMEOUT`), refused
 * or failed (`EREFUSED`, `ESERVFAIL`, `ECONNREFUSED`), or the system's resolver failed
 * (`EAI_AGAIN`, ...). {@linkcode DnsDiscovery} keeps its last list when this happens (as Go's
 * `DNSDiscovery` does) and sends it as the `error` of its `"outage"` event.
 *
 * @example
 * ```ts
 * import { DnsLookupError } from "@rpcx/core/dns";
 * const e = new DnsLookupError("ETIMEOUT", "arith.default.svc", "A", "10.96.0.10:53");
 * console.log(e.message, e.unavailable); // dns: A arith.default.svc via 10.96.0.10:53: ETIMEOUT true
 * ```
 */
export class DnsLookupError extends RegistryError {
  /** The resolver's code: `ENOTFOUND`, `ENODATA`, `ETIMEOUT`, `EREFUSED`, `EAI_AGAIN`, ... */
  readonly code: string;
  /** The name looked up. */
  readonly domain: string;
  /** What was asked: `"A"`, `"AAAA"`, `"A/AAAA"` or `"SRV"`. */
  readonly rrtype: string;
  /** The name servers asked, `host:port` joined by `,`; `"system"` for the system's resolver. */
  readonly nameserver: string;

  /** Creates the error; `cause` is the resolver's own error, when there is one. */
  constructor(
    code: string,
    domain: string,
    rrtype: string,
    nameserver: string,
    options?: ErrorOptions,
  ) {
    super(`dns: ${rrtype} ${domain} via ${nameserver}: ${code}`, {
      ...options,
      registry: "dns",
      operation: "lookup",
      // The name servers did not answer; an answer that the name is not there is no outage.
      unavailable: !["ENOTFOUND", "ENODATA", "ECANCELLED"].includes(code),
    });
    this.code = code;
    this.domain = domain;
    this.rrtype = rrtype;
    this.nameserver = nameserver;
  }
}

/** What one round looks up. */
export interface LookupPlan {
  /** The name (A/AAAA) or the SRV name (`_service._proto.name`). */
  domain: string;
  /** The network of every key (`tcp`, `quic`, ...). */
  network: string;
  /** The port of every key (A/AAAA; SRV records carry their own). */
  port: number;
  /** SRV records instead of A/AAAA. */
  srv: boolean;
  /** 4: A only, 6: AAAA only, 0: both. */
  family: 0 | 4 | 6;
  /** Name servers (`host:port`, IP literals); empty: the system's resolver. */
  nameservers: readonly string[];
  /** Bound of the whole round, in ms. */
  timeoutMs: number;
}

/** Codes that mean "this name has no such record" (as opposed to "no answer"). */
const NO_RECORD = new Set(["ENOTFOUND", "ENODATA"]);

/**
 * Parses a name server given as `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port` (port default 53)
 * into the form `Resolver.setServers` takes. Throws `TypeError` for anything else (a host name
 * is refused: a resolver needs an address to ask).
 */
export function parseNameserver(text: string): string {
  const s = text.trim();
  let host = s;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  const v4 = /^([^:]+):(\d+)$/.exec(s);
  if (bracket) {
    host = bracket[1];
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (v4) {
    host = v4[1];
    port = Number(v4[2]);
  }
  const family = isIP(host);
  if (
    family === 0 || (bracket && family !== 6) || !Number.isInteger(port) || port < 1 || port > 65535
  ) {
    throw new TypeError(
      `DnsDiscovery: nameserver ${JSON.stringify(text)} is not ip[:port] or [ipv6][:port]`,
    );
  }
  return joinHostPort(host, port);
}

/** The error code of a resolver failure. */
function codeOf(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "string" ? code : "EUNKNOWN";
}

/**
 * Runs one round: resolves `plan` to `network@ip:port` keys (IPv6 in brackets), sorted and
 * without duplicates. Rejects with {@linkcode DnsLookupError} when no address was found, at the
 * latest after `plan.timeoutMs`, or at once when `signal` aborts.
 */
export async function lookupServers(plan: LookupPlan, signal: AbortSignal): Promise<KVPair[]> {
  const via = plan.nameservers.length ? plan.nameservers.join(",") : "system";
  const rrtype = plan.srv ? "SRV" : plan.family === 4 ? "A" : plan.family === 6 ? "AAAA" : "A/AAAA";
  // A resolver per round: cancel() ends just this round's queries (timeout, close).
  const resolver = new dns.promises.Resolver({ timeout: plan.timeoutMs, tries: 1 });
  if (plan.nameservers.length) resolver.setServers([...plan.nameservers]);
  const fail = (code: string) => {
    resolver.cancel();
    return new DnsLookupError(code, plan.domain, rrtype, via);
  };
  return await deadline(round(plan, resolver, rrtype, via), plan.timeoutMs, {
    signal,
    onTimeout: () => fail("ETIMEOUT"),
    onAbort: () => fail("ECANCELLED"),
  });
}

async function round(
  plan: LookupPlan,
  resolver: dns.promises.Resolver,
  rrtype: string,
  via: string,
): Promise<KVPair[]> {
  const found = new Map<string, string>();
  const errors: unknown[] = [];
  if (plan.srv) {
    let records: dns.SrvRecord[];
    try {
      records = await resolver.resolveSrv(plan.domain);
    } catch (e) {
      throw new DnsLookupError(codeOf(e), plan.domain, "SRV", via, { cause: e });
    }
    // RFC 2782: a target of "." says the service is not offered at this name.
    const targets = records.filter((r) => r.name !== "" && r.name !== ".");
    await Promise.all(targets.map(async (r) => {
      try {
        const meta = r.weight > 0
          ? `priority=${r.priority}&weight=${r.weight}`
          : `priority=${r.priority}`;
        for (const ip of await addresses(r.name, plan, resolver)) {
          found.set(`${plan.network}@${joinHostPort(ip, r.port)}`, meta);
        }
      } catch (e) {
        errors.push(e);
      }
    }));
  } else {
    try {
      for (const ip of await addresses(plan.domain, plan, resolver)) {
        found.set(`${plan.network}@${joinHostPort(ip, plan.port)}`, "");
      }
    } catch (e) {
      errors.push(e);
    }
  }
  // As Go's net.LookupIP: some addresses make a success (a failed family or target is left
  // out); none is an error, and the last list is kept.
  if (found.size === 0) {
    const e = errors.find((x) => !NO_RECORD.has(codeOf(x))) ?? errors[0];
    throw new DnsLookupError(e ? codeOf(e) : "ENODATA", plan.domain, rrtype, via, { cause: e });
  }
  return [...found].map(([key, value]) => ({ key, value })).sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : 0
  );
}

/**
 * The addresses of `name`: with chosen name servers, their A and/or AAAA answers; with the
 * system's resolver, `getaddrinfo` (hosts file, then DNS through /etc/resolv.conf), as Go's
 * `net.LookupIP`. Throws the first family's error when no family gave an address.
 */
async function addresses(
  name: string,
  plan: LookupPlan,
  resolver: dns.promises.Resolver,
): Promise<string[]> {
  if (!plan.nameservers.length) {
    const all = await dns.promises.lookup(name, { all: true, family: plan.family, verbatim: true });
    return all.map((a) => a.address);
  }
  const families = plan.family === 0 ? [4, 6] : [plan.family];
  const results = await Promise.allSettled(
    families.map((f) => f === 4 ? resolver.resolve4(name) : resolver.resolve6(name)),
  );
  const ips = results.flatMap((r) => r.status === "fulfilled" ? r.value : []);
  if (ips.length) return ips;
  const failed = results.map((r) => r.status === "rejected" ? r.reason : undefined)
    .filter((r) => r !== undefined);
  throw failed.find((x) => !NO_RECORD.has(codeOf(x))) ?? failed[0];
}
