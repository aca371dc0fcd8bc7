/**
 * What every registry's server plugin shares: the services it advertises (name → metadata),
 * the address it advertises, the periodic refresh (Go's `UpdateInterval` ticker), the metrics
 * figures added on refresh, and the outage/recovered events with their failure count.
 *
 * @module
 */
import type { RegisterPlugin, RegistryStartContext, ServerMetrics } from "../server/plugin.ts";
import { RegistryOutageEvent } from "./discovery.ts";
import { RegistryError } from "./errors.ts";
import { metricsFigures } from "./metadata.ts";

/**
 * Options every registry plugin takes (Go names in camelCase; durations in milliseconds).
 *
 * @example
 * ```ts
 * import type { RegisterPluginOptions } from "@rpcx/core/extend";
 * const o: RegisterPluginOptions = { serviceAddress: "tcp@127.0.0.1:8972", updateInterval: 1000 };
 * console.log(o.updateInterval);
 * ```
 */
export interface RegisterPluginOptions {
  /** Advertised `network@host:port`; defaults to the address the server listens on. */
  serviceAddress?: string;
  /** Refresh period in ms (Go `UpdateInterval`); default 10 000; 0: never. */
  updateInterval?: number;
  /** Write `calls` and `connections` rates into the metadata on each refresh. */
  metrics?: boolean;
}

/**
 * Base class of the registry plugins (the KV ones through {@linkcode KvRegisterPlugin}, and
 * mDNS). Subclasses implement `refresh` and the registry I/O; the base keeps the service map,
 * runs `refresh` every `updateInterval` once {@linkcode RegisterPluginBase.startRefreshing} is
 * called, and turns failures into `"outage"` ({@linkcode RegistryOutageEvent}) and the next
 * success into `"recovered"`.
 *
 * @example
 * ```ts
 * import { RegisterPluginBase } from "@rpcx/core/extend";
 * class LogPlugin extends RegisterPluginBase {
 *   readonly name = "log";
 *   async start() {}
 *   async register(name: string, _s: unknown, meta: string) {
 *     this.setService(name, meta);
 *   }
 *   async unregister(name: string) {
 *     this.deleteService(name);
 *   }
 *   async stop() {
 *     this.stopRefreshing();
 *   }
 *   refresh() {
 *     console.log(this.services);
 *     return Promise.resolve();
 *   }
 * }
 * const p = new LogPlugin({ serviceAddress: "tcp@127.0.0.1:8972" });
 * await p.register("Arith", {}, "");
 * await p.refresh(); // ["Arith"]
 * ```
 */
export abstract class RegisterPluginBase extends EventTarget implements RegisterPlugin {
  /** A name for logs and errors. */
  abstract readonly name: string;
  /** Refresh period in ms. */
  readonly updateInterval: number;
  /** Whether metrics are written on refresh. */
  readonly metrics: boolean;
  #serviceAddress: string | undefined;
  readonly #services = new Map<string, string>();
  #metricsSource: (() => ServerMetrics) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #failures = 0;

  /** Stores the common options. */
  constructor(options: RegisterPluginOptions) {
    super();
    this.updateInterval = options.updateInterval ?? 10_000;
    this.metrics = options.metrics ?? false;
    this.#serviceAddress = options.serviceAddress;
  }

  /** The advertised address (`network@host:port`); known after `start`. */
  get serviceAddress(): string {
    if (!this.#serviceAddress) {
      throw new RegistryError(`${this.name}: serviceAddress is not known yet`, {
        registry: this.name,
        operation: "serviceAddress",
      });
    }
    return this.#serviceAddress;
  }

  /** The advertised address when known (given, or taken at `start`), else undefined. */
  protected get knownServiceAddress(): string | undefined {
    return this.#serviceAddress;
  }

  /** Names of the services currently registered. */
  get services(): string[] {
    return [...this.#services.keys()];
  }

  /** Consecutive failures reported since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** Connects to the registry and starts advertising. */
  abstract start(ctx?: RegistryStartContext): Promise<void>;
  /** Advertises one service. */
  abstract register(name: string, service: unknown, metadata: string): Promise<void>;
  /** Withdraws one service. */
  abstract unregister(name: string): Promise<void>;
  /** Withdraws everything and disconnects. */
  abstract stop(): Promise<void>;
  /** One refresh round (Go's ticker); must not throw into the timer. */
  abstract refresh(): Promise<void>;

  /** Takes the server's address (unless one was given) and metrics from the start context. */
  protected bindServer(ctx?: RegistryStartContext): void {
    this.#serviceAddress ??= ctx?.serviceAddress;
    this.#metricsSource = ctx?.metrics;
  }

  /** The services with their metadata as registered (no metrics added). */
  protected get serviceMetadata(): ReadonlyMap<string, string> {
    return this.#services;
  }

  /** Records a service; a `TypeError` for an empty name (Go: "service name can't be empty"). */
  protected setService(name: string, metadata: string): void {
    if (!name.trim()) throw new TypeError("register: service name can't be empty");
    this.#services.set(name, metadata);
  }

  /** Forgets a service; false when it was not registered. */
  protected deleteService(name: string): boolean {
    return this.#services.delete(name);
  }

  /** Forgets every service. */
  protected clearServices(): void {
    this.#services.clear();
  }

  /** Calls `refresh` every `updateInterval` (nothing when it is 0). */
  protected startRefreshing(): void {
    this.stopRefreshing();
    if (this.updateInterval > 0) {
      this.#timer = setInterval(() => void this.refresh(), this.updateInterval);
    }
  }

  /** Stops the refresh timer. */
  protected stopRefreshing(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The `calls`/`connections` figures to add on refresh, when metrics are on and known. */
  protected metricsFigures(): Record<string, string> | undefined {
    if (!this.metrics || !this.#metricsSource) return undefined;
    return metricsFigures(this.#metricsSource());
  }

  /** Counts a failure and dispatches `"outage"` with the delay before the next try. */
  protected reportFailure(error: unknown, retryInMs: number): void {
    this.#failures++;
    this.dispatchEvent(new RegistryOutageEvent(error, this.#failures, retryInMs));
  }

  /** Dispatches `"recovered"` when failures were reported before; resets the count. */
  protected reportSuccess(): void {
    if (this.#failures === 0) return;
    this.#failures = 0;
    this.dispatchEvent(new Event("recovered"));
  }
}
