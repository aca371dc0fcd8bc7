/**
 * Closest: the server nearest to the client by `latitude`/`longitude` metadata.
 *
 * @module
 */
import type { KVPair } from "../../registry/discovery.ts";
import { metadataPosition } from "../../registry/metadata.ts";
import type { Selector } from "./selector.ts";

/**
 * Great-circle distance in meters.
 *
 * @example
 * ```ts
 * import { geoDistance } from "@rpcx/core/extend";
 * console.log(Math.round(geoDistance(0, 0, 0, 1) / 1000)); // 111
 * ```
 */
export function geoDistance(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const rad = Math.PI / 180;
  const hav = (t: number) => Math.sin(t / 2) ** 2;
  const h = hav((lat2 - lat1) * rad) +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * hav((lon2 - lon1) * rad);
  return 2 * 6378100 * Math.asin(Math.sqrt(h));
}

/**
 * Closest server by `latitude`/`longitude` metadata to the client's position; ties are
 * broken at random. Positions are read as Go does ({@linkcode metadataPosition}): empty or
 * invalid numbers give no position. Go never selects a server without a position; here such
 * servers count as farthest, so they are used only when no server has a position.
 *
 * @example
 * ```ts
 * import { ClosestSelector } from "@rpcx/core/extend";
 * const s = new ClosestSelector(48.85, 2.35); // Paris
 * s.update([{ key: "ber", value: "latitude=52.52&longitude=13.40" },
 *           { key: "lon", value: "latitude=51.50&longitude=-0.12" }]);
 * console.log(s.select()); // "lon"
 * ```
 */
export class ClosestSelector implements Selector {
  /** The client's latitude. */
  readonly latitude: number;
  /** The client's longitude. */
  readonly longitude: number;
  #nearest: string[] = [];
  /** The client's position. */
  constructor(latitude: number, longitude: number) {
    this.latitude = latitude;
    this.longitude = longitude;
  }
  /** The nearest server. */
  select(): string | undefined {
    const n = this.#nearest.length;
    return n === 0 ? undefined : this.#nearest[Math.floor(Math.random() * n)];
  }
  /** Replaces the list. */
  update(pairs: KVPair[]): void {
    let best = Infinity;
    let nearest: string[] = [];
    for (const p of pairs) {
      const at = metadataPosition(p.value);
      const d = at === undefined
        ? Infinity
        : geoDistance(this.latitude, this.longitude, at.latitude, at.longitude);
      if (d < best) {
        best = d;
        nearest = [p.key];
      } else if (d === best) {
        nearest.push(p.key);
      }
    }
    this.#nearest = nearest;
  }
}
