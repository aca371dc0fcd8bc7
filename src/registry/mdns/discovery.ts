/**
 * The client half of the mDNS registry: {@linkcode MdnsDiscovery}, a DNS-SD browser.
 *
 * @module
 */
import { BaseDiscovery, type KVPair, type ServiceDiscovery } from "../discovery.ts";
import type { ResyncLoop } from "../resync.ts";
import { RegistryError } from "../errors.ts";
import { Sleeper } from "../../_internal/async.ts";
import { domainOf, MDNS_SERVICE_TYPES, norm } from "./names.ts";
import {
  checkPermissions,
  closeSocket,
  type DnsPacket,
  type MdnsSocketOptions,
  type MulticastDns,
  openSocket,
  sendPacket,
} from "./socket.ts";
import { decodeMdnsText, type MdnsServiceEntry, txtText } from "./txt.ts";

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
 * ```ts
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
  readonly #sleeper = new Sleeper();
  #browsing: Promise<void> | undefined;
  readonly #resync: ResyncLoop<void>;

  /**
   * Starts browsing for `servicePath` at once. Throws `PermissionError` (`@rpcx/core`) on Deno
   * without `--allow-net` and `--allow-sys=networkInterfaces,hostname` (a missing permission is
   * not an outage that retrying could end).
   */
  constructor(servicePath: string, options: MdnsDiscoveryOptions = {}) {
    checkPermissions();
    super();
    this.servicePath = servicePath;
    this.#options = options;
    this.timeout = options.timeout ?? 2000;
    this.watchInterval = options.watchInterval ?? 10_000;
    this.domain = domainOf(options.domain);
    this.serviceTypes = options.serviceTypes ?? MDNS_SERVICE_TYPES;
    this.#typeNames = this.serviceTypes.map((t) => norm(`${t}.${this.domain}`));
    this.#resync = this.resyncLoop({
      // One round: open the socket if needed, then browse (which publishes).
      list: async () => {
        this.#socket ??= await this.#open();
        await this.#browseOnce();
      },
      apply: () => {},
      // browses start `watchInterval` apart
      again: (startedAt) => Math.max(0, startedAt + this.watchInterval - Date.now()),
    });
    this.#resync.kick();
  }

  /** A discovery of the same network and options for another service path. */
  clone(servicePath: string): ServiceDiscovery {
    return new MdnsDiscovery(servicePath, this.#options);
  }

  /**
   * Every entry heard from every server, of every service (not only `servicePath`): what a
   * tool listing a whole network shows. Current after `ready()` or a `refresh()`.
   */
  get entries(): MdnsServiceEntry[] {
    return [...this.#origins.values()].flatMap((o) => o.entries.map((e) => ({ ...e })));
  }

  /** Browses now (waits `timeout`), then publishes the list. A failure is an `"outage"`. */
  refresh(): Promise<void> {
    if (this.closed || !this.#socket) return Promise.resolve();
    return this.#browseOnce().catch((e) => this.#resync.fail(e));
  }

  /** Stops browsing and releases the socket. */
  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    this.#sleeper.cancel();
    await this.#resync.close();
    await this.#browsing?.catch(() => {});
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) await closeSocket(socket);
  }

  async #open(): Promise<MulticastDns> {
    const socket = await openSocket(this.#options.socketOptions, (e) => this.#resync.fail(e));
    if (this.closed) {
      await closeSocket(socket);
      throw new RegistryError("mdns: discovery closed", { registry: "mdns", operation: "open" });
    }
    socket.on("response", (p) => this.#onResponse(p));
    return socket;
  }

  #browseOnce(): Promise<void> {
    this.#browsing ??= this.#browse().finally(() => (this.#browsing = undefined));
    return this.#browsing;
  }

  /** Resolves after `ms`, or at once when the discovery is closed. */
  #sleep(ms: number): Promise<void> {
    return this.closed ? Promise.resolve() : this.#sleeper.sleep(ms);
  }

  /** One browse: PTR queries for every service type at 0 s, 1 s, 3 s, ... within `timeout`. */
  async #browse(): Promise<void> {
    const started = Date.now();
    const end = started + this.timeout;
    let gap = 1000;
    let next = started;
    let failed: { error: unknown } | undefined;
    while (!this.closed && Date.now() < end) {
      if (Date.now() >= next) {
        try {
          await this.#query();
        } catch (e) {
          failed ??= { error: e };
        }
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
    if (failed) throw failed.error; // the list is published; the loop retries with backoff
  }

  async #query(): Promise<void> {
    const socket = this.#socket;
    if (!socket) return;
    await sendPacket(socket, {
      type: "query",
      id: 0,
      questions: this.#typeNames.map((name) => ({ name, type: "PTR" })),
    });
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
