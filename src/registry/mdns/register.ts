/**
 * The server half of the mDNS registry: {@linkcode MdnsRegisterPlugin}, a DNS-SD responder.
 *
 * @module
 */
import type { RegistryStartContext } from "../../server/plugin.ts";
import { formatMetadata, parseMetadata } from "../metadata.ts";
import { RegisterPluginBase, type RegisterPluginOptions } from "../register_base.ts";
import {
  domainOf,
  hostAddresses,
  hostName,
  label,
  MDNS_SERVICE_TYPES,
  norm,
  splitServiceAddress,
} from "./names.ts";
import {
  AUTHORITATIVE_ANSWER,
  checkPermissions,
  closeSocket,
  type DnsPacket,
  type DnsQuestion,
  type DnsRecord,
  MDNS_PORT,
  type MdnsSocketOptions,
  type MulticastDns,
  openSocket,
  type RemoteInfo,
  sendPacket,
} from "./socket.ts";
import { encodeMdnsText, type MdnsServiceEntry, txtStrings } from "./txt.ts";

/**
 * Options of {@linkcode MdnsRegisterPlugin} (Go `NewMDNSRegisterPlugin` parameters; durations in
 * milliseconds, TTL in seconds).
 *
 * @example
 * ```ts
 * import type { MdnsRegisterOptions } from "@rpcx/core/mdns";
 * const o: MdnsRegisterOptions = { serviceAddress: "tcp@127.0.0.1:8972", updateInterval: 10_000, metrics: true };
 * console.log(o.updateInterval);
 * ```
 */
export interface MdnsRegisterOptions extends RegisterPluginOptions {
  /** Port in the SRV record; defaults to the port of `serviceAddress`. */
  port?: number;
  /** DNS-SD domain (default `local.`). */
  domain?: string;
  /**
   * Instance name. Default `<host name>-<port>`: Go uses the bare host name, which makes two
   * servers on one host shadow each other in zeroconf browsers. Pass the host name
   * (`hostname()` of `node:os`) for Go's exact naming.
   */
  instance?: string;
  /** Host label of the SRV target and the A/AAAA records (default: the host name). */
  host?: string;
  /** TTL of every record, seconds (default 120). Browsers drop us this long after we vanish. */
  ttl?: number;
  /** Service types announced (default {@linkcode MDNS_SERVICE_TYPES}). */
  serviceTypes?: readonly string[];
  /** Options of the multicast socket (advanced). */
  socketOptions?: MdnsSocketOptions;
}

/**
 * Advertises the server's services over mDNS/DNS-SD in Go rpcx's format. Announces on start and on
 * each (un)registration, answers PTR/SRV/TXT/A/AAAA/ANY queries (and DNS-SD service enumeration),
 * rewrites the TXT every `updateInterval` (with metrics when enabled), and says goodbye (TTL 0) on
 * stop and when its last service is unregistered. Emits `"outage"`
 * ({@linkcode RegistryOutageEvent}) when a packet cannot be sent and `"recovered"` afterwards.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { MdnsRegisterPlugin } from "@rpcx/core/mdns";
 * const server = new Server();
 * server.use(new MdnsRegisterPlugin({ updateInterval: 10_000, metrics: true }));
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith", "weight=10");
 * await server.serve("tcp", "127.0.0.1:8972");
 * ```
 */
export class MdnsRegisterPlugin extends RegisterPluginBase {
  /** A name for logs. */
  readonly name: string = "mdns";
  /** DNS-SD domain without the trailing dot. */
  readonly domain: string;
  /** TTL of the records, seconds. */
  readonly ttl: number;
  /** Service types announced. */
  readonly serviceTypes: readonly string[];
  readonly #options: MdnsRegisterOptions;
  #port: number | undefined;
  #instance: string | undefined;
  #host: string | undefined;
  #extra: Record<string, string> | undefined;
  #socket: MulticastDns | undefined;
  #repeatTimer: ReturnType<typeof setTimeout> | undefined;
  #announced = false;
  #started = false;
  #pending = new Set<Promise<void>>();

  /** Stores the options; the socket is opened by `start`. */
  constructor(options: MdnsRegisterOptions = {}) {
    super(options);
    this.#options = options;
    this.domain = domainOf(options.domain);
    this.ttl = options.ttl ?? 120;
    this.serviceTypes = options.serviceTypes ?? MDNS_SERVICE_TYPES;
  }

  /** The instance name (known after `start`). */
  get instance(): string {
    return this.#instance ?? "";
  }

  /** Fully qualified instance names, one per service type, e.g. `vm-8972._rpcxservices.local`. */
  get instanceNames(): string[] {
    return this.serviceTypes.map((t) => `${this.instance}.${t}.${this.domain}`);
  }

  /** The TXT string advertised now (Go's format). */
  get text(): string {
    return encodeMdnsText(this.#entries());
  }

  /** Opens the multicast socket and starts answering queries and refreshing the TXT. */
  async start(ctx?: RegistryStartContext): Promise<void> {
    if (this.#started) return;
    this.bindServer(ctx);
    const address = this.serviceAddress;
    this.#port = this.#options.port ?? splitServiceAddress(address).port;
    // Before the host name: Deno may prompt for it here, and hostName() never prompts.
    checkPermissions();
    const host = hostName();
    this.#host = label(this.#options.host ?? host.split(".")[0]);
    this.#instance = label(this.#options.instance ?? `${host.split(".")[0]}-${this.#port}`);
    const socket = await openSocket(this.#options.socketOptions, (e) => this.#reportFailure(e));
    socket.on("query", (p, r) => this.#onQuery(p, r));
    this.#socket = socket;
    this.#started = true;
    this.startRefreshing();
    if (this.serviceMetadata.size) await this.#announce();
  }

  /** Adds a service to the TXT and announces it. */
  async register(name: string, _service: unknown, metadata: string): Promise<void> {
    this.setService(name, metadata);
    if (this.#started) await this.#announce();
  }

  /**
   * Removes a service: the new TXT is announced with the cache-flush bit (RFC 6762 §8.4); when no
   * service is left, every record is withdrawn with a goodbye (TTL 0).
   */
  async unregister(name: string): Promise<void> {
    if (!this.deleteService(name) || !this.#started) return;
    if (this.serviceMetadata.size) await this.#announce();
    else await this.#goodbye();
  }

  /** Sends goodbyes, stops refreshing and closes the socket. Safe to call twice. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.stopRefreshing();
    clearTimeout(this.#repeatTimer);
    this.#repeatTimer = undefined;
    await Promise.allSettled([...this.#pending]);
    await this.#goodbye();
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) await closeSocket(socket);
  }

  /** One refresh round (Go's ticker): add the metrics figures to the meta and re-announce. */
  refresh(): Promise<void> {
    if (!this.#started || !this.serviceMetadata.size) return Promise.resolve();
    const extra = this.metricsFigures();
    if (extra) this.#extra = extra;
    return this.#track(this.#sendRecords(this.ttl, null));
  }

  #entries(): MdnsServiceEntry[] {
    const out: MdnsServiceEntry[] = [];
    const address = this.knownServiceAddress;
    for (const [service, meta] of this.serviceMetadata) {
      let value = meta;
      if (this.#extra) {
        // Go: url.ParseQuery, Set each figure, Encode (keys sorted, Go's escaping).
        const v = parseMetadata(meta);
        for (const [k, fig] of Object.entries(this.#extra)) v.set(k, fig);
        value = formatMetadata(v);
      }
      out.push({ service, meta: value, service_address: address });
    }
    return out;
  }

  /** The records of one service type: [PTR, SRV, TXT]. */
  #instanceRecords(type: string, ttl: number): DnsRecord[] {
    const typeName = `${type}.${this.domain}`;
    const instanceName = `${this.instance}.${typeName}`;
    return [
      { name: typeName, type: "PTR", ttl, data: instanceName },
      {
        name: instanceName,
        type: "SRV",
        ttl,
        flush: true,
        data: { priority: 0, weight: 0, port: this.#port, target: this.#hostTarget() },
      },
      { name: instanceName, type: "TXT", ttl, flush: true, data: txtStrings(this.text) },
    ];
  }

  #hostTarget(): string {
    return `${this.#host}.${this.domain}`;
  }

  #addressRecords(ttl: number): DnsRecord[] {
    const { v4, v6 } = hostAddresses();
    const target = this.#hostTarget();
    return [
      ...v4.map((a) => ({ name: target, type: "A", ttl, flush: true, data: a })),
      ...v6.map((a) => ({ name: target, type: "AAAA", ttl, flush: true, data: a })),
    ];
  }

  #allRecords(ttl: number): DnsRecord[] {
    const records = this.serviceTypes.flatMap((t) => this.#instanceRecords(t, ttl));
    return [...records, ...this.#addressRecords(ttl)];
  }

  /** Announces now and once more a second later (RFC 6762 §8.3). */
  async #announce(): Promise<void> {
    this.#announced = true;
    clearTimeout(this.#repeatTimer);
    this.#repeatTimer = setTimeout(() => {
      this.#repeatTimer = undefined;
      if (this.#started && this.serviceMetadata.size) {
        void this.#track(this.#sendRecords(this.ttl, null));
      }
    }, 1000);
    await this.#track(this.#sendRecords(this.ttl, null));
  }

  async #goodbye(): Promise<void> {
    if (!this.#announced) return;
    this.#announced = false;
    clearTimeout(this.#repeatTimer);
    this.#repeatTimer = undefined;
    const records = this.#allRecords(0).filter((r) => r.type !== "A" && r.type !== "AAAA");
    await this.#track(this.#sendRecords(0, null, records));
  }

  async #sendRecords(ttl: number, to: RemoteInfo | null, records?: DnsRecord[]): Promise<void> {
    const socket = this.#socket;
    if (!socket) return;
    const answers = records ?? this.#allRecords(ttl);
    try {
      await sendPacket(socket, {
        type: "response",
        id: 0,
        flags: AUTHORITATIVE_ANSWER,
        answers,
      }, to);
      this.reportSuccess();
    } catch (e) {
      this.#reportFailure(e);
    }
  }

  #track(p: Promise<void>): Promise<void> {
    this.#pending.add(p);
    return p.finally(() => this.#pending.delete(p));
  }

  #reportFailure(e: unknown): void {
    this.reportFailure(e, this.updateInterval || 1000);
  }

  /** Answers a query (RFC 6762 §6): multicast, or unicast to a legacy (non-5353) querier. */
  #onQuery(packet: DnsPacket, rinfo: RemoteInfo): void {
    if (!this.#started || !this.serviceMetadata.size) return;
    const answers: DnsRecord[] = [];
    const additionals: DnsRecord[] = [];
    const known = packet.answers ?? [];
    const enumName = `_services._dns-sd._udp.${this.domain}`;
    const add = (list: DnsRecord[], r: DnsRecord) => {
      const same = (x: DnsRecord) =>
        x.name === r.name && x.type === r.type && JSON.stringify(x.data) === JSON.stringify(r.data);
      if (!answers.some(same) && !additionals.some(same)) list.push(r);
    };
    const wants = (q: DnsQuestion, type: string) => q.type === type || q.type === "ANY";
    for (const q of packet.questions ?? []) {
      const name = norm(q.name);
      if (name === enumName && wants(q, "PTR")) {
        for (const t of this.serviceTypes) {
          add(answers, { name: enumName, type: "PTR", ttl: this.ttl, data: `${t}.${this.domain}` });
        }
        continue;
      }
      for (const type of this.serviceTypes) {
        const [ptr, srv, txt] = this.#instanceRecords(type, this.ttl);
        if (name === norm(ptr.name) && wants(q, "PTR")) {
          // Known-answer suppression (RFC 6762 §7.1).
          const suppressed = known.some((k) =>
            k.type === "PTR" && norm(k.name) === name && typeof k.data === "string" &&
            norm(k.data) === norm(ptr.data as string) && (k.ttl ?? 0) > this.ttl / 2
          );
          if (suppressed) continue;
          add(answers, ptr);
          add(additionals, srv);
          add(additionals, txt);
          for (const a of this.#addressRecords(this.ttl)) add(additionals, a);
        } else if (name === norm(srv.name)) {
          if (wants(q, "SRV")) add(answers, srv);
          if (wants(q, "TXT")) add(answers, txt);
          if (wants(q, "SRV")) {
            for (const a of this.#addressRecords(this.ttl)) add(additionals, a);
          }
        }
      }
      if (name === norm(this.#hostTarget())) {
        for (const a of this.#addressRecords(this.ttl)) {
          if (wants(q, a.type)) add(answers, a);
        }
      }
    }
    if (!answers.length) return;
    const socket = this.#socket;
    if (!socket) return;
    if (rinfo.port !== MDNS_PORT) {
      // Legacy unicast (RFC 6762 §6.7): same id, the questions repeated, short TTLs, no flush.
      const legacy = (r: DnsRecord): DnsRecord => ({
        ...r,
        ttl: Math.min(r.ttl ?? 10, 10),
        flush: false,
      });
      void this.#track(
        sendPacket(socket, {
          type: "response",
          id: packet.id ?? 0,
          flags: AUTHORITATIVE_ANSWER,
          questions: packet.questions,
          answers: answers.map(legacy),
          additionals: additionals.map(legacy),
        }, { address: rinfo.address, port: rinfo.port }).catch((e) => this.#reportFailure(e)),
      );
      return;
    }
    void this.#track(
      sendPacket(socket, {
        type: "response",
        id: 0,
        flags: AUTHORITATIVE_ANSWER,
        answers,
        additionals,
      }).then(() => this.reportSuccess(), (e) => this.#reportFailure(e)),
    );
  }
}
