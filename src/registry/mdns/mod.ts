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
 * ```ts ignore
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
import createMulticastDns from "multicast-dns";
import type { RegisterPlugin, RegistryStartContext, ServerMetrics } from "../../server/plugin.ts";
import {
  backoffDelay,
  BaseDiscovery,
  type KVPair,
  RegistryOutageEvent,
  type ServiceDiscovery,
} from "../discovery.ts";
import { metricsFigures, parseMetadata } from "../metadata.ts";

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

/**
 * One entry of the TXT JSON array (Go `serviceMeta`; empty fields are left out, as Go's
 * `omitempty` does).
 *
 * @example
 * ```ts
 * import type { MdnsServiceEntry } from "@rpcx/core/mdns";
 * const e: MdnsServiceEntry = { service: "Arith", meta: "weight=10", service_address: "tcp@127.0.0.1:8972" };
 * console.log(e.service);
 * ```
 */
export interface MdnsServiceEntry {
  /** Service path, e.g. `Arith`. */
  service?: string;
  /** Metadata in URL query form. */
  meta?: string;
  /** `network@host:port`. */
  service_address?: string;
}

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

// ---------------------------------------------------------------------------------------------
// TXT format: url.QueryEscape(json.Marshal(services)), as Go does.

const UNRESERVED = /[A-Za-z0-9\-_.~]/;
const HEX = "0123456789ABCDEF";

/** Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX` (upper case). */
function goQueryEscape(s: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    if (b < 0x80 && UNRESERVED.test(c)) out += c;
    else if (b === 0x20) out += "+";
    else out += "%" + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

/** Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; a malformed escape is an error. */
function goQueryUnescape(s: string): string {
  const input = new TextEncoder().encode(s);
  const bytes = new Uint8Array(input.length);
  let n = 0;
  const hexValue = (b: number) =>
    b >= 0x30 && b <= 0x39
      ? b - 0x30
      : (b | 0x20) >= 0x61 && (b | 0x20) <= 0x66
      ? (b | 0x20) - 87
      : -1;
  for (let i = 0; i < input.length; i++) {
    const b = input[i];
    if (b === 0x25) {
      const hi = hexValue(input[i + 1] ?? 0);
      const lo = hexValue(input[i + 2] ?? 0);
      if (hi < 0 || lo < 0) throw new URIError(`invalid URL escape at byte ${i}`);
      bytes[n++] = hi * 16 + lo;
      i += 2;
    } else {
      bytes[n++] = b === 0x2b ? 0x20 : b;
    }
  }
  return new TextDecoder().decode(bytes.subarray(0, n));
}

/** Go's `json.Marshal` escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings. */
function goJsonString(value: string): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

/**
 * Encodes the TXT string for a list of services exactly as Go rpcx does:
 * `url.QueryEscape(json.Marshal(services))` with Go's field order, `omitempty` and HTML escaping.
 *
 * @example
 * ```ts
 * import { encodeMdnsText } from "@rpcx/core/mdns";
 * console.log(encodeMdnsText([{ service: "Arith", service_address: "tcp@127.0.0.1:8972" }]));
 * // %5B%7B%22service%22%3A%22Arith%22%2C%22service_address%22%3A%22tcp%40127.0.0.1%3A8972%22%7D%5D
 * ```
 */
export function encodeMdnsText(entries: readonly MdnsServiceEntry[]): string {
  const objects = entries.map((e) => {
    const fields: string[] = [];
    if (e.service) fields.push(`"service":${goJsonString(e.service)}`);
    if (e.meta) fields.push(`"meta":${goJsonString(e.meta)}`);
    if (e.service_address) fields.push(`"service_address":${goJsonString(e.service_address)}`);
    return `{${fields.join(",")}}`;
  });
  return goQueryEscape(`[${objects.join(",")}]`);
}

/**
 * Decodes a TXT string written by Go rpcx or {@linkcode encodeMdnsText}: URL-query-unescape, then
 * JSON. Throws on malformed input. Entries that are not objects are dropped.
 *
 * @example
 * ```ts
 * import { decodeMdnsText, encodeMdnsText } from "@rpcx/core/mdns";
 * const txt = encodeMdnsText([{ service: "Arith", meta: "weight=10&group=a", service_address: "tcp@h:1" }]);
 * console.log(decodeMdnsText(txt)[0].meta); // "weight=10&group=a"
 * ```
 */
export function decodeMdnsText(text: string): MdnsServiceEntry[] {
  const parsed: unknown = JSON.parse(goQueryUnescape(text));
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) throw new TypeError("mdns TXT: not a JSON array");
  const out: MdnsServiceEntry[] = [];
  for (const item of parsed) {
    if (typeof item !== "object" || item === null) continue;
    const o = item as Record<string, unknown>;
    const e: MdnsServiceEntry = {};
    if (typeof o.service === "string") e.service = o.service;
    if (typeof o.meta === "string") e.meta = o.meta;
    if (typeof o.service_address === "string") e.service_address = o.service_address;
    out.push(e);
  }
  return out;
}

/** A DNS character-string holds at most 255 bytes: longer TXT text is split (Go clients only
 * read the first string, so they cannot use such a record; ours join the strings). */
function txtStrings(text: string): string[] {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += 255) parts.push(text.slice(i, i + 255));
  return parts.length ? parts : [""];
}

// ---------------------------------------------------------------------------------------------
// The multicast-dns socket, typed for what we use.

interface DnsQuestion {
  name: string;
  type: string;
  class?: string | number;
}

interface DnsRecord {
  name: string;
  type: string;
  ttl?: number;
  class?: string;
  flush?: boolean;
  data?: unknown;
}

interface DnsPacket {
  id?: number;
  type?: "query" | "response";
  flags?: number;
  questions?: DnsQuestion[];
  answers?: DnsRecord[];
  authorities?: DnsRecord[];
  additionals?: DnsRecord[];
}

interface RemoteInfo {
  address: string;
  port: number;
}

interface MulticastDns {
  on(event: "query" | "response", listener: (p: DnsPacket, r: RemoteInfo) => void): void;
  on(event: "error" | "warning", listener: (e: Error) => void): void;
  once(event: "ready", listener: () => void): void;
  send(p: DnsPacket, rinfo: RemoteInfo | null, cb: (err?: Error | null) => void): void;
  destroy(cb: () => void): void;
}

const MDNS_PORT = 5353;
const AUTHORITATIVE_ANSWER = 1 << 10;

/**
 * Opens a socket; resolves once bound (and the multicast group joined). `onError` receives the
 * errors after that (multicast-dns may emit one failure twice: every one is handled).
 */
function openSocket(
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

/**
 * multicast-dns reads the network interfaces from an event handler, where a missing permission
 * would be an uncaught error: ask first, and fail with a clear message.
 */
function checkPermissions(): void {
  const needed: Deno.PermissionDescriptor[] = [
    { name: "sys", kind: "networkInterfaces" },
    { name: "sys", kind: "hostname" },
    { name: "net" },
  ];
  for (const d of needed) {
    let state = Deno.permissions.querySync(d).state;
    if (state === "prompt") state = Deno.permissions.requestSync(d).state;
    if (state !== "granted") {
      throw new Deno.errors.NotCapable(
        "mdns needs --allow-net and --allow-sys=networkInterfaces,hostname",
      );
    }
  }
}

function sendPacket(m: MulticastDns, p: DnsPacket, to: RemoteInfo | null = null): Promise<void> {
  return new Promise((resolve, reject) => m.send(p, to, (e) => (e ? reject(e) : resolve())));
}

function closeSocket(m: MulticastDns): Promise<void> {
  return new Promise((resolve) => m.destroy(() => resolve()));
}

/** `name` without a trailing dot, lower case (DNS names compare case-insensitively). */
function norm(name: string): string {
  return name.replace(/\.+$/, "").toLowerCase();
}

/** A DNS label from free text: at most 63 bytes, no dots. */
function label(text: string): string {
  let s = text.replace(/\./g, "-").trim();
  while (new TextEncoder().encode(s).length > 63) s = s.slice(0, -1);
  return s || "rpcx";
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "rpcx";
  }
}

/** Addresses to advertise: non-loopback ones, or the loopback ones when there are no others. */
function hostAddresses(): { v4: string[]; v6: string[] } {
  let list: Deno.NetworkInterfaceInfo[] = [];
  try {
    list = Deno.networkInterfaces();
  } catch {
    // no permission: loopback below
  }
  const pick = (loopback: boolean) => {
    const v4 = new Set<string>();
    const v6 = new Set<string>();
    for (const i of list) {
      const isLoop = i.address.startsWith("127.") || i.address === "::1";
      if (isLoop !== loopback) continue;
      if (i.family === "IPv4") v4.add(i.address);
      else v6.add(i.address.replace(/%.*$/, ""));
    }
    return { v4: [...v4], v6: [...v6] };
  };
  const external = pick(false);
  if (external.v4.length || external.v6.length) return external;
  const local = pick(true);
  return local.v4.length || local.v6.length ? local : { v4: ["127.0.0.1"], v6: [] };
}

function splitServiceAddress(address: string): { host: string; port: number } {
  const hostPort = address.slice(address.indexOf("@") + 1);
  const m = /^(?:\[([^\]]+)\]|(.*)):(\d+)$/.exec(hostPort);
  if (!m) throw new TypeError(`mdns: cannot read a port from service address "${address}"`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

function domainOf(domain: string | undefined): string {
  return norm(domain || "local.") || "local";
}

// ---------------------------------------------------------------------------------------------
// Server side.

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
export interface MdnsRegisterOptions {
  /** Advertised `network@host:port`; defaults to the address the server listens on. */
  serviceAddress?: string;
  /** Port in the SRV record; defaults to the port of `serviceAddress`. */
  port?: number;
  /** DNS-SD domain (default `local.`). */
  domain?: string;
  /** TXT refresh period in ms (Go `UpdateInterval`, default 10 000; 0: never). */
  updateInterval?: number;
  /** Add `calls` and `connections` rates (per second since start) to each service's meta. */
  metrics?: boolean;
  /**
   * Instance name. Default `<host name>-<port>`: Go uses the bare host name, which makes two
   * servers on one host shadow each other in zeroconf browsers. Pass `Deno.hostname()` for Go's
   * exact naming.
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
 * ```ts ignore
 * import { Server } from "@rpcx/core";
 * import { MdnsRegisterPlugin } from "@rpcx/core/mdns";
 * const server = new Server();
 * server.use(new MdnsRegisterPlugin({ updateInterval: 10_000, metrics: true }));
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith", "weight=10");
 * await server.serve("tcp", "127.0.0.1:8972");
 * ```
 */
export class MdnsRegisterPlugin extends EventTarget implements RegisterPlugin {
  /** A name for logs. */
  readonly name: string = "mdns";
  /** DNS-SD domain without the trailing dot. */
  readonly domain: string;
  /** TXT refresh period in ms. */
  readonly updateInterval: number;
  /** Whether metrics are added to the meta. */
  readonly metrics: boolean;
  /** TTL of the records, seconds. */
  readonly ttl: number;
  /** Service types announced. */
  readonly serviceTypes: readonly string[];
  readonly #options: MdnsRegisterOptions;
  #serviceAddress: string | undefined;
  #port: number | undefined;
  #instance: string | undefined;
  #host: string | undefined;
  readonly #services = new Map<string, string>();
  #metricsSource: (() => ServerMetrics) | undefined;
  #extra: Record<string, string> | undefined;
  #socket: MulticastDns | undefined;
  #refreshTimer: ReturnType<typeof setInterval> | undefined;
  #repeatTimer: ReturnType<typeof setTimeout> | undefined;
  #announced = false;
  #started = false;
  #failures = 0;
  #pending = new Set<Promise<void>>();

  /** Stores the options; the socket is opened by `start`. */
  constructor(options: MdnsRegisterOptions = {}) {
    super();
    this.#options = options;
    this.domain = domainOf(options.domain);
    this.updateInterval = options.updateInterval ?? 10_000;
    this.metrics = options.metrics ?? false;
    this.ttl = options.ttl ?? 120;
    this.serviceTypes = options.serviceTypes ?? MDNS_SERVICE_TYPES;
    this.#serviceAddress = options.serviceAddress;
  }

  /** The advertised address (`network@host:port`); known after `start`. */
  get serviceAddress(): string {
    if (!this.#serviceAddress) throw new Error("mdns: serviceAddress is not known yet");
    return this.#serviceAddress;
  }

  /** The instance name (known after `start`). */
  get instance(): string {
    return this.#instance ?? "";
  }

  /** Fully qualified instance names, one per service type, e.g. `vm-8972._rpcxservices.local`. */
  get instanceNames(): string[] {
    return this.serviceTypes.map((t) => `${this.instance}.${t}.${this.domain}`);
  }

  /** Names of the services currently advertised. */
  get services(): string[] {
    return [...this.#services.keys()];
  }

  /** The TXT string advertised now (Go's format). */
  get text(): string {
    return encodeMdnsText(this.#entries());
  }

  /** Opens the multicast socket and starts answering queries and refreshing the TXT. */
  async start(ctx?: RegistryStartContext): Promise<void> {
    if (this.#started) return;
    this.#serviceAddress ??= ctx?.serviceAddress;
    this.#metricsSource = ctx?.metrics;
    const address = this.serviceAddress;
    this.#port = this.#options.port ?? splitServiceAddress(address).port;
    const host = hostName();
    this.#host = label(this.#options.host ?? host.split(".")[0]);
    this.#instance = label(this.#options.instance ?? `${host.split(".")[0]}-${this.#port}`);
    const socket = await openSocket(this.#options.socketOptions, (e) => this.#reportFailure(e));
    socket.on("query", (p, r) => this.#onQuery(p, r));
    this.#socket = socket;
    this.#started = true;
    if (this.updateInterval > 0) {
      this.#refreshTimer = setInterval(() => this.refresh(), this.updateInterval);
    }
    if (this.#services.size) await this.#announce();
  }

  /** Adds a service to the TXT and announces it. */
  async register(name: string, _service: unknown, metadata: string): Promise<void> {
    if (!name.trim()) throw new Error("register: service name can't be empty");
    this.#services.set(name, metadata);
    if (this.#started) await this.#announce();
  }

  /**
   * Removes a service: the new TXT is announced with the cache-flush bit (RFC 6762 §8.4); when no
   * service is left, every record is withdrawn with a goodbye (TTL 0).
   */
  async unregister(name: string): Promise<void> {
    if (!this.#services.delete(name) || !this.#started) return;
    if (this.#services.size) await this.#announce();
    else await this.#goodbye();
  }

  /** Sends goodbyes, stops refreshing and closes the socket. Safe to call twice. */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    clearInterval(this.#refreshTimer);
    clearTimeout(this.#repeatTimer);
    this.#refreshTimer = this.#repeatTimer = undefined;
    await Promise.allSettled([...this.#pending]);
    await this.#goodbye();
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) await closeSocket(socket);
  }

  /** One refresh round (Go's ticker): add the metrics figures to the meta and re-announce. */
  refresh(): Promise<void> {
    if (!this.#started || !this.#services.size) return Promise.resolve();
    const extra = this.#metricsFigures();
    if (extra) this.#extra = extra;
    return this.#track(this.#sendRecords(this.ttl, null));
  }

  #entries(): MdnsServiceEntry[] {
    const out: MdnsServiceEntry[] = [];
    for (const [service, meta] of this.#services) {
      let value = meta;
      if (this.#extra) {
        // Go: url.ParseQuery, Set each figure, Encode (which sorts the keys).
        const v = parseMetadata(meta);
        for (const [k, fig] of Object.entries(this.#extra)) v.set(k, fig);
        v.sort();
        value = v.toString();
      }
      out.push({ service, meta: value, service_address: this.#serviceAddress });
    }
    return out;
  }

  #metricsFigures(): Record<string, string> | undefined {
    if (!this.metrics || !this.#metricsSource) return undefined;
    return metricsFigures(this.#metricsSource());
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
      if (this.#started && this.#services.size) void this.#track(this.#sendRecords(this.ttl, null));
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
      this.#reportSuccess();
    } catch (e) {
      this.#reportFailure(e);
    }
  }

  #track(p: Promise<void>): Promise<void> {
    this.#pending.add(p);
    return p.finally(() => this.#pending.delete(p));
  }

  #reportFailure(e: unknown): void {
    this.#failures++;
    this.dispatchEvent(new RegistryOutageEvent(e, this.#failures, this.updateInterval || 1000));
  }

  #reportSuccess(): void {
    if (this.#failures === 0) return;
    this.#failures = 0;
    this.dispatchEvent(new Event("recovered"));
  }

  /** Answers a query (RFC 6762 §6): multicast, or unicast to a legacy (non-5353) querier. */
  #onQuery(packet: DnsPacket, rinfo: RemoteInfo): void {
    if (!this.#started || !this.#services.size) return;
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
      }).then(() => this.#reportSuccess(), (e) => this.#reportFailure(e)),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Client side.

/**
 * Options of {@linkcode MdnsDiscovery} (Go `NewMDNSDiscovery` parameters; milliseconds).
 *
 * @example
 * ```ts
 * import type { MdnsDiscoveryOptions } from "@rpcx/core/mdns";
 * const o: MdnsDiscoveryOptions = { timeout: 1000, watchInterval: 5000 };
 * console.log(o.timeout);
 * ```
 */
export interface MdnsDiscoveryOptions {
  /** How long one browse listens for answers, ms (Go `Timeout`, default 2000). */
  timeout?: number;
  /** Time between the starts of two browses, ms (Go `WatchInterval`, default 10 000). */
  watchInterval?: number;
  /** DNS-SD domain (default `local.`). */
  domain?: string;
  /** Service types browsed (default {@linkcode MDNS_SERVICE_TYPES}). */
  serviceTypes?: readonly string[];
  /** Options of the multicast socket (advanced). */
  socketOptions?: MdnsSocketOptions;
}

interface Origin {
  entries: MdnsServiceEntry[];
  expiresAt: number;
  lastSeen: number;
  missed: number;
}

/** RFC 6762 §10.5 (passive observation of failures): unanswered browses before a drop. */
const POOF_MISSED = 2;
/** ... and the least time since the record was last seen. */
const POOF_MS = 10_000;

/**
 * Finds the servers of one service over mDNS/DNS-SD (Go rpcx's `MDNSDiscovery`). Browses every
 * `watchInterval` for `timeout` ms, and listens all the time in between: announcements are
 * taken at once, goodbyes (TTL 0) remove a server at once, and a server whose records expire
 * (TTL) or that stops answering (RFC 6762 §10.5: two browses and 10 s) is dropped. Keys are the
 * TXT's `service_address`, values its `meta`. The first list is published when the first browse
 * ends. Emits `"outage"` when the multicast socket cannot be used (retried with backoff).
 *
 * @example
 * ```ts ignore
 * import { FailMode, SelectMode, XClient } from "@rpcx/core";
 * import { MdnsDiscovery } from "@rpcx/core/mdns";
 * const d = new MdnsDiscovery("Arith", { timeout: 1000, watchInterval: 5000 });
 * await d.ready();
 * const x = new XClient("Arith", FailMode.Failover, SelectMode.RoundRobin, d);
 * console.log(x.servers);
 * await x.close();
 * await d.close();
 * ```
 */
export class MdnsDiscovery extends BaseDiscovery {
  /** The service path whose servers are kept. */
  readonly servicePath: string;
  /** Browse duration, ms. */
  readonly timeout: number;
  /** Browse period, ms. */
  readonly watchInterval: number;
  /** DNS-SD domain without the trailing dot. */
  readonly domain: string;
  /** Service types browsed. */
  readonly serviceTypes: readonly string[];
  readonly #options: MdnsDiscoveryOptions;
  readonly #typeNames: string[];
  readonly #origins = new Map<string, Origin>();
  #socket: MulticastDns | undefined;
  #firstBrowseDone = false;
  #failures = 0;
  readonly #sleepers = new Set<() => void>();
  #browsing: Promise<void> | undefined;
  readonly #loop: Promise<void>;

  /** Starts browsing for `servicePath` at once. */
  constructor(servicePath: string, options: MdnsDiscoveryOptions = {}) {
    super();
    this.servicePath = servicePath;
    this.#options = options;
    this.timeout = options.timeout ?? 2000;
    this.watchInterval = options.watchInterval ?? 10_000;
    this.domain = domainOf(options.domain);
    this.serviceTypes = options.serviceTypes ?? MDNS_SERVICE_TYPES;
    this.#typeNames = this.serviceTypes.map((t) => norm(`${t}.${this.domain}`));
    this.#loop = this.#run();
  }

  /** A discovery of the same network and options for another service path. */
  clone(servicePath: string): ServiceDiscovery {
    return new MdnsDiscovery(servicePath, this.#options);
  }

  /** Browses now (waits `timeout`), then publishes the list. */
  refresh(): Promise<void> {
    if (this.closed || !this.#socket) return Promise.resolve();
    this.#browsing ??= this.#browse().finally(() => (this.#browsing = undefined));
    return this.#browsing;
  }

  /** Stops browsing and releases the socket. */
  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    for (const wake of [...this.#sleepers]) wake();
    await this.#loop;
    await this.#browsing;
  }

  async #run(): Promise<void> {
    await null; // let the constructor's caller add listeners before the first event
    while (!this.closed) {
      try {
        this.#socket = await openSocket(this.#options.socketOptions, (e) => this.#fail(e));
        if (this.closed) break;
        this.#socket.on("response", (p) => this.#onResponse(p));
        break;
      } catch (e) {
        const wait = this.#fail(e);
        await this.#sleep(wait);
      }
    }
    while (!this.closed) {
      const started = Date.now();
      await this.refresh();
      await this.#sleep(Math.max(0, started + this.watchInterval - Date.now()));
    }
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) await closeSocket(socket);
  }

  /** Resolves after `ms`, or at once when the discovery is closed. */
  #sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }

  #fail(e: unknown): number {
    this.#failures++;
    const wait = backoffDelay(this.#failures);
    if (!this.closed) this.reportOutage(e, this.#failures, wait);
    return wait;
  }

  /** One browse: PTR queries for every service type at 0 s, 1 s, 3 s, ... within `timeout`. */
  async #browse(): Promise<void> {
    const started = Date.now();
    const end = started + this.timeout;
    let gap = 1000;
    let next = started;
    while (!this.closed && Date.now() < end) {
      if (Date.now() >= next) {
        await this.#query();
        next = Date.now() + gap;
        gap *= 2;
      }
      await this.#sleep(Math.max(0, Math.min(next, end) - Date.now()));
    }
    if (this.closed) return;
    const now = Date.now();
    for (const [name, o] of this.#origins) {
      if (o.lastSeen < started) o.missed++;
      const poof = o.missed >= POOF_MISSED && now - o.lastSeen >= POOF_MS;
      if (o.expiresAt <= now || poof) this.#origins.delete(name);
    }
    this.#firstBrowseDone = true;
    this.#publishCurrent();
  }

  async #query(): Promise<void> {
    const socket = this.#socket;
    if (!socket) return;
    try {
      await sendPacket(socket, {
        type: "query",
        id: 0,
        questions: this.#typeNames.map((name) => ({ name, type: "PTR" })),
      });
      if (this.#failures) {
        this.#failures = 0;
        this.reportRecovered();
      }
    } catch (e) {
      this.#fail(e);
    }
  }

  /** The instance name if `name` is `<instance>.<one of our types>`, else undefined. */
  #instanceOf(name: string): string | undefined {
    const n = norm(name);
    for (const t of this.#typeNames) {
      if (n.length > t.length + 1 && n.endsWith(`.${t}`)) return n;
    }
    return undefined;
  }

  #onResponse(packet: DnsPacket): void {
    if (this.closed) return;
    const now = Date.now();
    let changed = false;
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])];
    for (const rr of records) {
      const ttl = rr.ttl ?? 0;
      let instance: string | undefined;
      if (
        rr.type === "PTR" && typeof rr.data === "string" && this.#typeNames.includes(norm(rr.name))
      ) {
        instance = this.#instanceOf(rr.data);
      } else if (rr.type === "SRV" || rr.type === "TXT") {
        instance = this.#instanceOf(rr.name);
      }
      if (!instance) continue;
      if (ttl === 0) {
        // Goodbye (RFC 6762 §10.1) of the PTR, SRV or TXT: the instance is gone.
        if (this.#origins.delete(instance)) changed = true;
        continue;
      }
      if (rr.type === "TXT") {
        const text = txtText(rr.data);
        let entries: MdnsServiceEntry[];
        try {
          entries = decodeMdnsText(text);
        } catch {
          continue; // not an rpcx TXT
        }
        const before = this.#origins.get(instance);
        if (!before || JSON.stringify(before.entries) !== JSON.stringify(entries)) changed = true;
        this.#origins.set(instance, {
          entries,
          expiresAt: now + ttl * 1000,
          lastSeen: now,
          missed: 0,
        });
      } else {
        const o = this.#origins.get(instance);
        if (o) {
          o.lastSeen = now;
          o.missed = 0;
        }
      }
    }
    if (changed && this.#firstBrowseDone) this.#publishCurrent();
  }

  #publishCurrent(): void {
    const pairs = new Map<string, string>();
    for (const o of this.#origins.values()) {
      for (const e of o.entries) {
        if (e.service === this.servicePath && e.service_address) {
          pairs.set(e.service_address, e.meta ?? "");
        }
      }
    }
    const list: KVPair[] = [...pairs].map(([key, value]) => ({ key, value }));
    list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.publish(list);
  }
}

/** The TXT strings of a record joined (ours split text longer than 255 bytes). */
function txtText(data: unknown): string {
  const parts = Array.isArray(data) ? data : [data];
  const utf8 = new TextDecoder();
  return parts.map((p) => typeof p === "string" ? p : p instanceof Uint8Array ? utf8.decode(p) : "")
    .join("");
}
