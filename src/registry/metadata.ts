/**
 * Service metadata strings in URL query form (`weight=10&group=a&state=inactive`).
 *
 * @module
 */
import type { ServerMetrics } from "../server/plugin.ts";

/**
 * Parses a metadata string into a map of first values per key.
 *
 * @example
 * ```ts
 * import { parseMetadata } from "@rpcx/core";
 * console.log(parseMetadata("weight=10&group=a").get("weight")); // "10"
 * ```
 */
export function parseMetadata(value: string): URLSearchParams {
  return new URLSearchParams(value);
}

/**
 * Formats metadata as a URL query string. Accepts a record or URLSearchParams.
 *
 * @example
 * ```ts
 * import { formatMetadata } from "@rpcx/core";
 * console.log(formatMetadata({ weight: "10", group: "a" })); // "weight=10&group=a"
 * ```
 */
export function formatMetadata(meta: Record<string, string | number> | URLSearchParams): string {
  if (meta instanceof URLSearchParams) return meta.toString();
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(meta)) p.append(k, String(v));
  return p.toString();
}

/**
 * Whether Go's `url.ParseQuery` accepts `value`: it rejects a `;` and a `%` not followed by two
 * hex digits. Go's client ignores metadata it cannot parse (weight 1, no position, no state or
 * group filtering), and so do we.
 */
function goParses(value: string): boolean {
  return !value.includes(";") && !/%(?![0-9a-fA-F]{2})/.test(value);
}

/** Go's `strconv.Atoi` on a 64-bit machine: decimal digits with an optional sign, in int64. */
const GO_INT = /^[+-]?[0-9]+$/;
/** Go's `strconv.ParseFloat` decimal forms (hex floats and `_` separators are not read). */
const GO_FLOAT = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;

/**
 * A server's `weight` metadata as Go rpcx reads it for WeightedRoundRobin: an integer
 * (`strconv.Atoi`); absent, empty, invalid, out of int64 range or unparsable metadata give
 * Go's default, 1. Zero and negative weights are returned as they are (the selector skips
 * them unless every weight is ≤ 0).
 *
 * @example
 * ```ts
 * import { metadataWeight } from "@rpcx/core";
 * console.log(metadataWeight("weight=5"), metadataWeight("weight="), metadataWeight("weight=2.5")); // 5 1 1
 * ```
 */
export function metadataWeight(value: string): number {
  if (!goParses(value)) return 1;
  const w = parseMetadata(value).get("weight");
  if (w === null || !GO_INT.test(w)) return 1;
  const n = BigInt(w);
  if (n > 0x7fffffffffffffffn || n < -0x8000000000000000n) return 1;
  return Number(n);
}

/**
 * A server's position from `latitude` and `longitude` metadata as Go rpcx reads it for
 * Closest (`strconv.ParseFloat`): undefined (no position) when either is absent, empty,
 * invalid, not finite, or the metadata is unparsable.
 *
 * @example
 * ```ts
 * import { metadataPosition } from "@rpcx/core";
 * console.log(metadataPosition("latitude=48.85&longitude=2.35")); // { latitude: 48.85, longitude: 2.35 }
 * console.log(metadataPosition("latitude=&longitude=")); // undefined
 * ```
 */
export function metadataPosition(
  value: string,
): { latitude: number; longitude: number } | undefined {
  if (!goParses(value)) return undefined;
  const meta = parseMetadata(value);
  const latitude = goFloat(meta.get("latitude"));
  const longitude = goFloat(meta.get("longitude"));
  if (latitude === undefined || longitude === undefined) return undefined;
  return { latitude, longitude };
}

function goFloat(v: string | null): number | undefined {
  if (v === null || !GO_FLOAT.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Whether a server's metadata marks it inactive (`state=inactive`): never selected.
 *
 * @example
 * ```ts
 * import { isInactive } from "@rpcx/core";
 * console.log(isInactive("state=inactive&weight=1")); // true
 * ```
 */
export function isInactive(value: string): boolean {
  return goParses(value) && parseMetadata(value).get("state") === "inactive";
}

/**
 * Whether metadata lists `group` among its `group` values. As in Go, an empty `group` and
 * metadata Go cannot parse match every group.
 *
 * @example
 * ```ts
 * import { inGroup } from "@rpcx/core";
 * console.log(inGroup("group=a&group=b", "b")); // true
 * ```
 */
export function inGroup(value: string, group: string): boolean {
  return group === "" || !goParses(value) || parseMetadata(value).getAll("group").includes(group);
}

/**
 * The figures registry plugins add to a service's metadata when `metrics` is on, as Go rpcx's
 * meters report them: mean `calls` and `connections` per second since the server started,
 * two decimals.
 *
 * @example
 * ```ts
 * import { metricsFigures } from "@rpcx/core";
 * const m = { startedAt: Date.now() - 10_000, connectionsAccepted: 5, activeConnections: 1,
 *   calls: 100, inFlight: 0 };
 * console.log(metricsFigures(m)); // { calls: "10.00", connections: "0.50" }
 * ```
 */
export function metricsFigures(m: ServerMetrics): Record<string, string> {
  const seconds = Math.max((Date.now() - m.startedAt) / 1000, 1e-3);
  return {
    calls: (m.calls / seconds).toFixed(2),
    connections: (m.connectionsAccepted / seconds).toFixed(2),
  };
}
