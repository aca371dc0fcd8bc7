/**
 * {@linkcode DnsDiscovery}: the servers of a DNS name, as Go rpcx's `client.DNSDiscovery`.
 *
 * @module
 */
import dns from "node:dns";
import { runtime } from "../../runtime/mod.ts";
import { BaseDiscovery, type KVPair, type ServiceDiscovery } from "../discovery.ts";
import type { ResyncLoop, RetryOptions } from "../resync.ts";
import { type LookupPlan, lookupServers, parseNameserver } from "./resolve.ts";

/**
 * Options of {@linkcode DnsDiscovery}. Durations in milliseconds.
 *
 * @example
 * ```ts
 * import type { DnsDiscoveryOptions } from "@rpcx/core/dns";
 * const o: DnsDiscoveryOptions = { nameserver: "10.96.0.10:53", family: 4, timeoutMs: 2000 };
 * console.log(o.family);
 * ```
 */
export interface DnsDiscoveryOptions extends RetryOptions {
  /**
   * The name servers to ask, `ip[:port]` or `[ipv6][:port]` (port default 53), one or several
   * (tried in order). Default: the system's resolver — `getaddrinfo` for addresses (the hosts
   * file, then DNS through /etc/resolv.conf, as Go's `net.LookupIP`), /etc/resolv.conf's
   * servers for SRV.
   */
  nameserver?: string | string[];
  /**
   * Look up SRV records (`_service._proto.name`, e.g. Kubernetes'
   * `_rpcx._tcp.arith.default.svc.cluster.local`) instead of A/AAAA: each target host is
   * resolved to its addresses and keyed with the record's port (the `port` argument is then
   * unused); the value is `priority=P&weight=W` (`weight` left out when 0), so
   * `SelectMode.WeightedRoundRobin` follows the records' weights. Beyond Go. Default false.
   */
  srv?: boolean;
  /** 4: A records only, 6: AAAA only, 0 (default): both, as Go's `net.LookupIP`. */
  family?: 0 | 4 | 6;
  /**
   * Bound of one round of lookups (SRV and its targets included), in ms; default 5000. A round
   * that takes longer is cancelled and counts as failed (`ETIMEOUT`).
   */
  timeoutMs?: number;
}

/**
 * The servers of a DNS name, re-resolved every `intervalMs`: Go rpcx's
 * `client.NewDNSDiscovery(domain, network, port, d)`, for Kubernetes headless services and
 * any name whose A/AAAA records are the servers. Each address becomes the key
 * `network@ip:port` with an empty value (IPv6 in brackets, `tcp@[fd00::5]:8972`, which Go
 * writes without them and then cannot dial), sorted. With `srv: true` it reads SRV records
 * instead (beyond Go).
 *
 * The first lookup starts at once; later ones every `intervalMs`, measured from the start of
 * one round to the next (Go's ticker). A round that finds no address — the name is unknown,
 * has no record, the name server does not answer within `timeoutMs` — keeps the last list, as
 * Go does, and emits `"outage"` ({@linkcode RegistryOutageEvent}) whose `error` is a
 * {@linkcode DnsLookupError}; it is retried after `retryInitialMs` (default 1000) doubling up to
 * `retryMaxMs` (default `intervalMs`), and the first round that finds addresses again emits
 * `"recovered"`. An XClient whose discovery never found a server fails its calls with
 * `NoServerAvailableError` naming the lookup error.
 *
 * The name serves every service path: `clone()` returns a discovery of the same name (as Go).
 *
 * Permissions (Deno): `--allow-net`; with `nameserver`, also `--allow-sys=networkInterfaces`
 * (Deno's `node:dns` asks for it to set name servers), needed by the constructor.
 *
 * @example
 * ```ts
 * import { FailMode, type RegistryOutageEvent, SelectMode, XClient } from "@rpcx/core";
 * import { DnsDiscovery } from "@rpcx/core/dns";
 *
 * // every pod of the headless service "arith" serves on 8972; re-resolved every 10 s
 * const d = new DnsDiscovery("arith.default.svc.cluster.local", "tcp", 8972, 10_000);
 * d.addEventListener("outage", (e) => console.warn("dns", (e as RegistryOutageEvent).error));
 * const xclient = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
 * console.log(await xclient.call("Mul", { A: 10, B: 20 })); // { C: 200 }
 * await xclient.close();
 * await d.close();
 * ```
 *
 * @throws {TypeError} an empty `domain`, a `port` outside 1-65535 (A/AAAA), an `intervalMs` or
 * `timeoutMs` that is not a positive finite number, or a `nameserver` that is not an IP address.
 * @throws {PermissionError} (`@rpcx/core`) on Deno, for a `nameserver` without
 * `--allow-sys=networkInterfaces` (every lookup would fail otherwise; asked for first where
 * Deno may prompt).
 */
export class DnsDiscovery extends BaseDiscovery {
  /** The name looked up. */
  readonly domain: string;
  /** The network of every key (`tcp`, `kcp`, `quic`, ...). */
  readonly network: string;
  /** The port of every key (unused with `srv`). */
  readonly port: number;
  /** Re-resolve period, in ms. */
  readonly intervalMs: number;
  /** The name servers asked (`host:port`); empty for the system's resolver. */
  readonly nameservers: readonly string[];
  readonly #options: DnsDiscoveryOptions;
  readonly #plan: LookupPlan;
  readonly #resync: ResyncLoop<KVPair[]>;
  readonly #abort = new AbortController();

  /** Starts resolving `domain` at once (the constructor does not wait: use `ready()`). */
  constructor(
    domain: string,
    network: string,
    port: number,
    intervalMs: number,
    options: DnsDiscoveryOptions = {},
  ) {
    super();
    const srv = options.srv ?? false;
    if (typeof domain !== "string" || domain.trim() === "") {
      throw new TypeError("DnsDiscovery: domain is empty");
    }
    if (!srv && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
      throw new TypeError(`DnsDiscovery: port ${port} is not in 1-65535`);
    }
    const positive = (v: number, what: string) => {
      if (!(Number.isFinite(v) && v > 0)) {
        throw new TypeError(`DnsDiscovery: ${what} ${v} is not a positive number of ms`);
      }
      return v;
    };
    this.domain = domain.trim();
    this.network = network || "tcp";
    this.port = port;
    this.intervalMs = positive(intervalMs, "intervalMs");
    const given = options.nameserver;
    this.nameservers = (given === undefined ? [] : Array.isArray(given) ? given : [given])
      .map(parseNameserver);
    if (this.nameservers.length) {
      // Deno's node:dns reads the interfaces to set name servers: without the permission fail
      // once, here, with a PermissionError (not Deno's own class), instead of every round.
      runtime().process.requirePermissions(
        ["sys:networkInterfaces"],
        "dns: a nameserver needs --allow-sys=networkInterfaces",
      );
      new dns.promises.Resolver().setServers([...this.nameservers]);
    }
    this.#options = options;
    this.#plan = {
      domain: this.domain,
      network: this.network,
      port,
      srv,
      family: options.family ?? 0,
      nameservers: this.nameservers,
      timeoutMs: positive(options.timeoutMs ?? 5000, "timeoutMs"),
    };
    this.#resync = this.resyncLoop({
      list: () => lookupServers(this.#plan, this.#abort.signal),
      apply: (pairs) => this.publish(pairs),
      again: (startedAt) => Math.max(1, this.intervalMs - (Date.now() - startedAt)),
      retryInitialMs: options.retryInitialMs ?? Math.min(1000, this.intervalMs),
      retryMaxMs: options.retryMaxMs ?? this.intervalMs,
    });
    this.#resync.kick();
  }

  /** A discovery of the same name (a DNS name serves every service path, as in Go). */
  clone(_servicePath: string): ServiceDiscovery {
    return new DnsDiscovery(this.domain, this.network, this.port, this.intervalMs, this.#options);
  }

  /**
   * Resolves again now (a pending retry or period restarts from this round); resolves when the
   * round has ended. Never rejects: a failed round is an `"outage"` event.
   */
  async refresh(): Promise<void> {
    this.#resync.kick();
    await this.#resync.idle();
  }

  /** Stops re-resolving and cancels a lookup in flight; bounded. */
  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    this.#abort.abort();
    await this.#resync.close();
  }
}
