/**
 * Internal to XClient: the selector of a select mode, and the choice of the server for each
 * try (selector, stickiness, servers already tried, backoff).
 *
 * @module
 */
import type { KVPair } from "../registry/discovery.ts";
import { NoServerAvailableError, NoServerSelectedError } from "./errors.ts";
import type { ServerHealth } from "./_health.ts";
import type { SelectFunc } from "./plugin.ts";
import type { XClientOptions } from "./options.ts";
import {
  ClosestSelector,
  ConsistentHashSelector,
  RandomSelector,
  RoundRobinSelector,
  SelectMode,
  type Selector,
  WeightedLatencySelector,
  WeightedRoundRobinSelector,
} from "./selectors.ts";

/**
 * The selector of `mode` (`options.selector` for SelectByUser).
 *
 * @throws {TypeError} for an unknown mode, or SelectByUser without `options.selector`.
 */
export function makeSelector(mode: SelectMode, options: XClientOptions): Selector {
  switch (mode) {
    case SelectMode.RandomSelect:
      return new RandomSelector();
    case SelectMode.RoundRobin:
      return new RoundRobinSelector();
    case SelectMode.WeightedRoundRobin:
      return new WeightedRoundRobinSelector();
    case SelectMode.WeightedICMP:
      return new WeightedLatencySelector();
    case SelectMode.ConsistentHash:
      return new ConsistentHashSelector();
    case SelectMode.Closest:
      return new ClosestSelector(options.latitude ?? 0, options.longitude ?? 0);
    case SelectMode.SelectByUser:
      if (!options.selector) throw new TypeError("SelectByUser needs options.selector");
      return options.selector;
    default:
      throw new TypeError(`unknown select mode ${mode}`);
  }
}

/**
 * Which server the next try of an XClient goes to: the selector's choice among the available
 * servers, else (when it was tried already) another available one, else a backing-off one not
 * tried yet (soonest due first), else the selector's choice again. With `sticky` (Go's
 * `Option.Sticky`), the server chosen before, while it has not failed and was not tried by this
 * call.
 */
export class ServerChooser {
  /** The discovery's last outage error while it cannot reach its registry, else undefined. */
  registryError: unknown = undefined;
  readonly #servicePath: string;
  readonly #health: ServerHealth;
  readonly #select: SelectFunc;
  readonly #sticky: boolean;

  /** Chooses among `health`'s servers of `servicePath` with `select`. */
  constructor(servicePath: string, health: ServerHealth, select: SelectFunc, sticky: boolean) {
    this.#servicePath = servicePath;
    this.#health = health;
    this.#select = select;
    this.#sticky = sticky;
  }

  /** "No server", saying why when the discovery cannot reach its registry. */
  noServer(): NoServerAvailableError {
    const e = this.registryError;
    if (e === undefined) return new NoServerAvailableError(this.#servicePath);
    const why = e instanceof Error ? e.message : String(e);
    return new NoServerAvailableError(
      this.#servicePath,
      `; its registry cannot be reached: ${why}`,
      { cause: e },
    );
  }

  /**
   * The server for the next try of `method`; `tried` holds the servers this call tried.
   *
   * @throws {NoServerAvailableError} when no server is listed.
   * @throws {NoServerSelectedError} when the selector chooses none.
   */
  pick(method: string, args: unknown, tried?: Set<string>): string {
    const available = this.#health.available();
    if (available.length === 0) throw this.noServer();
    const health = this.#health;
    const sticky = health.sticky;
    if (sticky !== undefined && (tried === undefined || !tried.has(sticky))) return sticky;
    const key = this.#choose(available, method, args, tried);
    // A backup request (the sticky server tried and not failed) does not move it.
    if (this.#sticky && health.sticky === undefined) health.sticky = key;
    return key;
  }

  /** `pick` without stickiness. */
  #choose(available: KVPair[], method: string, args: unknown, tried?: Set<string>): string {
    let key = this.#select(this.#servicePath, method, args);
    if (key === undefined) throw new NoServerSelectedError(this.#servicePath, available.length);
    if (tried === undefined || !tried.has(key)) return key;
    for (const p of available) if (!tried.has(p.key)) return p.key;
    let due = Infinity;
    for (const p of this.#health.pairs) {
      const until = this.#health.downUntil(p.key);
      if (!tried.has(p.key) && until < due) {
        due = until;
        key = p.key;
      }
    }
    return key;
  }
}
