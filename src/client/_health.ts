/**
 * Internal to XClient: the servers it chooses from — the discovery's list after state and group
 * filtering — and their health: consecutive transport failures take a server out for a backoff
 * that doubles per trip (refused: at once), and the selector sees the servers not backing off.
 *
 * @module
 */
import { backoffDelay, type KVPair } from "../registry/discovery.ts";
import { inGroup, isInactive } from "../registry/metadata.ts";
import { ConnectionRefusedError } from "../transport/errors.ts";
import type { XClientOptions } from "./options.ts";
import type { Selector } from "./selectors.ts";

interface Health {
  failures: number;
  downUntil: number;
  trips: number;
}

function isRefused(e: unknown): boolean {
  return (e as { cause?: unknown })?.cause instanceof ConnectionRefusedError;
}

/** The listed servers, their health, and what the selector chooses from. */
export class ServerHealth {
  /** The discovery's list after state and group filtering (down servers included). */
  pairs: KVPair[] = [];
  readonly #health = new Map<string, Health>();
  #available: KVPair[] = [];
  #availableUntil = Infinity;
  /**
   * With `sticky` (Go's `Option.Sticky`): the server every call goes to until a transport
   * failure on it or its leaving the list (then undefined, and the selector chooses again).
   */
  sticky: string | undefined;

  constructor(readonly selector: Selector, readonly options: XClientOptions) {}

  /** Takes the discovery's new list; returns the keys kept (health of the others is dropped). */
  setPairs(pairs: KVPair[]): Set<string> {
    const group = this.options.group;
    this.pairs = pairs.filter((p) =>
      !isInactive(p.value) && (group === undefined || inGroup(p.value, group))
    );
    const keep = new Set(this.pairs.map((p) => p.key));
    if (this.sticky !== undefined && !keep.has(this.sticky)) this.sticky = undefined;
    for (const key of this.#health.keys()) if (!keep.has(key)) this.#health.delete(key);
    this.#rebuild();
    return keep;
  }

  #rebuild(): void {
    const now = Date.now();
    let until = Infinity;
    const healthy = this.pairs.filter((p) => {
      const h = this.#health.get(p.key);
      if (!h || h.downUntil <= now) return true;
      until = Math.min(until, h.downUntil);
      return false;
    });
    // Backoff only orders servers: when every server is backing off, all stay selectable and
    // each call dials again (as Go's client does), so a restarted server is used at once.
    this.#available = healthy.length > 0 ? healthy : this.pairs;
    this.#availableUntil = until;
    this.selector.update(this.#available);
  }

  /** The servers to choose from now (the selector has them too). */
  available(): KVPair[] {
    if (this.#availableUntil !== Infinity && Date.now() >= this.#availableUntil) this.#rebuild();
    return this.#available;
  }

  /** When `key` may be tried again (ms since the epoch; 0: now). */
  downUntil(key: string): number {
    return this.#health.get(key)?.downUntil ?? 0;
  }

  /** A transport failure on `key`. */
  markFailure(key: string, error: unknown): void {
    if (key === this.sticky) this.sticky = undefined;
    const h = this.#health.get(key) ?? { failures: 0, downUntil: 0, trips: 0 };
    h.failures++;
    const threshold = this.options.failureThreshold ?? 3;
    if (isRefused(error) || h.failures >= threshold) {
      h.trips++;
      h.failures = 0;
      h.downUntil = Date.now() +
        backoffDelay(h.trips, this.options.retryBackoff ?? 1000, this.options.maxRetryBackoff);
      this.#health.set(key, h);
      this.#rebuild();
      return;
    }
    this.#health.set(key, h);
  }

  /** A success on `key`: its failures are forgotten. */
  markSuccess(key: string): void {
    if (this.#health.size !== 0) this.#health.delete(key);
  }
}
