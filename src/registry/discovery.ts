/**
 * The discovery contract between registries and XClient: a current list of servers for one
 * service, pushed again in full whenever it changes.
 *
 * @module
 */
import { backoffDelay } from "./backoff.ts";
import { ResyncLoop, type ResyncOptions } from "./resync.ts";

export { backoffDelay };

/**
 * One server of a service: `key` is `network@host:port` (e.g. `tcp@127.0.0.1:8972`),
 * `value` the metadata string in URL query form (e.g. `weight=10&group=a`).
 *
 * @example
 * ```ts
 * import type { KVPair } from "@rpcx/core/extend";
 * const pair: KVPair = { key: "tcp@127.0.0.1:8972", value: "weight=10" };
 * console.log(pair.key);
 * ```
 */
export interface KVPair {
  /** `network@host:port`. */
  key: string;
  /** Metadata in URL query form. */
  value: string;
}

/**
 * Keeps a pair when it returns true.
 *
 * @example
 * ```ts
 * import type { ServiceFilter } from "@rpcx/core/extend";
 * const onlyTcp: ServiceFilter = (p) => p.key.startsWith("tcp@");
 * console.log(onlyTcp({ key: "tcp@h:1", value: "" })); // true
 * ```
 */
export type ServiceFilter = (pair: KVPair) => boolean;

/**
 * Receives the complete list each time it changes.
 *
 * @example
 * ```ts
 * import type { DiscoveryListener } from "@rpcx/core/extend";
 * const log: DiscoveryListener = (pairs) => console.log(pairs.length);
 * log([]);
 * ```
 */
export type DiscoveryListener = (pairs: KVPair[]) => void;

/**
 * What XClient needs of a registry. Implementations extend {@linkcode BaseDiscovery}.
 *
 * @example
 * ```ts
 * import { MultipleServersDiscovery, type ServiceDiscovery } from "@rpcx/core";
 * const d: ServiceDiscovery = new MultipleServersDiscovery([{ key: "tcp@127.0.0.1:1", value: "" }]);
 * console.log(d.getServices().length); // 1
 * ```
 */
export interface ServiceDiscovery extends EventTarget {
  /** The current list (filter applied). */
  getServices(): KVPair[];
  /** Calls `listener` with every new complete list; returns a function that stops it. */
  watch(listener: DiscoveryListener): () => void;
  /** A discovery of the same registry for another service path. */
  clone(servicePath: string): ServiceDiscovery;
  /** Keeps only the pairs `filter` accepts (undefined: all). Applies to the next list. */
  setFilter(filter: ServiceFilter | undefined): void;
  /** Resolves once the first list has been loaded (or immediately for static lists). */
  ready(): Promise<void>;
  /** Stops watching the registry and releases its client. */
  close(): Promise<void>;
}

/**
 * Sent as `"outage"` when a discovery cannot reach its registry. It keeps the last list and
 * retries after `retryInMs`.
 *
 * @example
 * ```ts
 * import { RegistryOutageEvent, MultipleServersDiscovery } from "@rpcx/core";
 * const d = new MultipleServersDiscovery([]);
 * d.addEventListener("outage", (e) => console.log((e as RegistryOutageEvent).retryInMs));
 * ```
 */
export class RegistryOutageEvent extends Event {
  /** What went wrong. */
  readonly error: unknown;
  /** Consecutive failures so far (1 for the first). */
  readonly attempt: number;
  /** Delay before the next try, in milliseconds. */
  readonly retryInMs: number;
  /** Creates the event. */
  constructor(error: unknown, attempt: number, retryInMs: number) {
    super("outage");
    this.error = error;
    this.attempt = attempt;
    this.retryInMs = retryInMs;
  }
}

/**
 * Shared machinery for discoveries: filter, watchers, ready promise and outage events.
 * Subclasses call {@linkcode BaseDiscovery.publish} with each complete list, and
 * {@linkcode BaseDiscovery.reportOutage} / {@linkcode BaseDiscovery.reportRecovered} around
 * registry failures. Events: `"update"` (a new list), `"outage"`
 * ({@linkcode RegistryOutageEvent}), `"recovered"`.
 *
 * @example
 * ```ts
 * import type { ServiceDiscovery } from "@rpcx/core";
 * import { BaseDiscovery } from "@rpcx/core/extend";
 * class Fixed extends BaseDiscovery {
 *   constructor() {
 *     super();
 *     this.publish([{ key: "tcp@127.0.0.1:8972", value: "" }]);
 *   }
 *   clone(_servicePath: string): ServiceDiscovery {
 *     return new Fixed();
 *   }
 * }
 * console.log(new Fixed().getServices().length); // 1
 * ```
 */
export abstract class BaseDiscovery extends EventTarget implements ServiceDiscovery {
  #raw: KVPair[] = [];
  #pairs: KVPair[] = [];
  #filter: ServiceFilter | undefined;
  readonly #listeners = new Set<DiscoveryListener>();
  #readyResolve!: () => void;
  readonly #ready: Promise<void>;
  #loaded = false;
  #outage = false;
  /** Set once {@linkcode BaseDiscovery.close} has been called. */
  protected closed = false;

  /** Creates an empty discovery (not ready until the first {@linkcode publish}). */
  constructor() {
    super();
    this.#ready = new Promise((resolve) => (this.#readyResolve = resolve));
  }

  /** The current list (filter applied). */
  getServices(): KVPair[] {
    return this.#pairs.slice();
  }

  /** Calls `listener` with each new complete list; returns an unsubscribe function. */
  watch(listener: DiscoveryListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Keeps only pairs the filter accepts; re-applies it to the current list. */
  setFilter(filter: ServiceFilter | undefined): void {
    this.#filter = filter;
    if (this.#loaded) this.publish(this.#raw);
  }

  /** Resolves once the first list is loaded. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Whether the registry is currently unreachable. */
  get inOutage(): boolean {
    return this.#outage;
  }

  /**
   * Whether a first list may still come from elsewhere than the registry (e.g. a cache file
   * being read), so an `"outage"` before the first list does not mean there will be none:
   * `XClient` then waits `discoveryTimeout` rather than failing the call at the outage.
   * Default false.
   */
  get listPending(): boolean {
    return false;
  }

  /** Stops notifying watchers. Subclasses release their registry client and call super. */
  close(): Promise<void> {
    this.closed = true;
    this.#listeners.clear();
    return Promise.resolve();
  }

  /** A discovery of the same registry for another service path. */
  abstract clone(servicePath: string): ServiceDiscovery;

  /**
   * A {@linkcode ResyncLoop} whose failures and recoveries are this discovery's `"outage"` and
   * `"recovered"` events. Call `kick()` to start it, and `close()` it in `close`.
   */
  protected resyncLoop<T>(options: Omit<ResyncOptions<T>, "outage" | "recovered">): ResyncLoop<T> {
    return new ResyncLoop<T>({
      ...options,
      outage: (e, attempt, wait) => this.reportOutage(e, attempt, wait),
      recovered: () => this.reportRecovered(),
    });
  }

  /**
   * Sets the complete list; notifies watchers when it differs from the previous one
   * (order-insensitive), and always on the first call.
   */
  protected publish(pairs: readonly KVPair[]): void {
    this.#raw = pairs.map((p) => ({ key: p.key, value: p.value }));
    const filter = this.#filter;
    const next = filter ? this.#raw.filter(filter) : this.#raw.slice();
    const first = !this.#loaded;
    const changed = first || !sameList(this.#pairs, next);
    this.#pairs = next;
    this.#loaded = true;
    if (first) this.#readyResolve();
    if (!changed || this.closed) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(next.slice());
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
    this.dispatchEvent(new Event("update"));
  }

  /** Reports that the registry failed; the last list is kept. */
  protected reportOutage(error: unknown, attempt: number, retryInMs: number): void {
    this.#outage = true;
    this.dispatchEvent(new RegistryOutageEvent(error, attempt, retryInMs));
  }

  /** Reports that the registry answers again (only dispatched after an outage). */
  protected reportRecovered(): void {
    if (!this.#outage) return;
    this.#outage = false;
    this.dispatchEvent(new Event("recovered"));
  }
}

function sameList(a: readonly KVPair[], b: readonly KVPair[]): boolean {
  if (a.length !== b.length) return false;
  const m = new Map<string, string>();
  for (const p of a) m.set(p.key, p.value);
  for (const p of b) if (m.get(p.key) !== p.value) return false;
  return true;
}
