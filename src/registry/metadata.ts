/**
 * Service metadata strings in URL query form (`weight=10&group=a&state=inactive`), read and
 * written by Go's `net/url` rules (`src/_internal/go/url.ts`): what Go rpcx's selectors and
 * registry plugins read, we read; what they write, byte for byte, we write.
 *
 * @module
 */
import type { ServerMetrics } from "../server/plugin.ts";
import { atoi, NumError, parseFloat } from "../_internal/go/strconv.ts";
import { encodeValues, type GoValues, parseQuery } from "../_internal/go/url.ts";

/**
 * Parses a metadata string as Go's `url.ParseQuery` does: the pairs that parse, each key's values
 * in order (a pair with a bad `%` escape or a `;` is left out, as Go leaves it out). Go's
 * registry plugins read metadata this way before they add their metrics figures.
 *
 * @example
 * ```ts
 * import { parseMetadata } from "@rpcx/core/extend";
 * console.log(parseMetadata("weight=10&group=a").get("weight")); // "10"
 * console.log(parseMetadata("weight=10&x=%zz;").has("x")); // false
 * ```
 */
export function parseMetadata(value: string): URLSearchParams {
  const out = new URLSearchParams();
  for (const [k, values] of parseQuery(value).values) for (const v of values) out.append(k, v);
  return out;
}

/**
 * Formats metadata as Go's `url.Values.Encode` writes it, which is what Go's registry plugins
 * write back on each refresh: keys sorted by their bytes, each key's values in order, escaped
 * as Go's `url.QueryEscape` escapes them (`~` kept, `*` as `%2A`, a space as `+`). Accepts a
 * record or URLSearchParams.
 *
 * @example
 * ```ts
 * import { formatMetadata } from "@rpcx/core/extend";
 * console.log(formatMetadata({ weight: "10", group: "a" })); // "group=a&weight=10"
 * console.log(formatMetadata(new URLSearchParams("tag=~*&tag=a b"))); // "tag=~%2A&tag=a+b"
 * ```
 */
export function formatMetadata(meta: Record<string, string | number> | URLSearchParams): string {
  if (meta instanceof URLSearchParams) return encodeValues(meta);
  return encodeValues(Object.entries(meta).map(([k, v]) => [k, String(v)] as const));
}

/**
 * The metadata as Go's selectors and filters see it: `url.ParseQuery`'s values, or undefined
 * when Go's `ParseQuery` returns an error (a `;`, a bad escape, over 10 000 parameters). Go's
 * client then ignores the metadata (weight 1, no position, no state or group filtering), and so
 * do we.
 */
function goValues(value: string): GoValues | undefined {
  const { values, error } = parseQuery(value);
  return error ? undefined : values;
}

/**
 * A server's `weight` metadata as Go rpcx reads it for WeightedRoundRobin: an integer
 * (`strconv.Atoi`); absent, empty, invalid, out of int64 range or unparsable metadata give
 * Go's default, 1. Zero and negative weights are returned as they are (the selector skips
 * them unless every weight is ≤ 0).
 *
 * @example
 * ```ts
 * import { metadataWeight } from "@rpcx/core/extend";
 * console.log(metadataWeight("weight=5"), metadataWeight("weight="), metadataWeight("weight=2.5")); // 5 1 1
 * ```
 */
export function metadataWeight(value: string): number {
  const w = goValues(value)?.get("weight")?.[0];
  if (!w) return 1;
  try {
    return Number(atoi(w));
  } catch (e) {
    if (!(e instanceof NumError)) throw e;
    return 1; // Go keeps its default when strconv.Atoi fails
  }
}

/**
 * A server's position from `latitude` and `longitude` metadata as Go rpcx reads it for
 * Closest (`strconv.ParseFloat`): undefined (no position) when either is absent, empty,
 * invalid, not finite, or the metadata is unparsable.
 *
 * @example
 * ```ts
 * import { metadataPosition } from "@rpcx/core/extend";
 * console.log(metadataPosition("latitude=48.85&longitude=2.35")); // { latitude: 48.85, longitude: 2.35 }
 * console.log(metadataPosition("latitude=&longitude=")); // undefined
 * ```
 */
export function metadataPosition(
  value: string,
): { latitude: number; longitude: number } | undefined {
  const meta = goValues(value);
  const latitude = goFloat(meta?.get("latitude")?.[0]);
  const longitude = goFloat(meta?.get("longitude")?.[0]);
  if (latitude === undefined || longitude === undefined) return undefined;
  return { latitude, longitude };
}

/**
 * Go's `strconv.ParseFloat` of a coordinate; undefined when it fails, and also for `inf` and
 * `nan`, which Go accepts but whose distance is NaN (Go never picks such a server while another
 * has a position, and panics when it is the only one).
 */
function goFloat(v: string | undefined): number | undefined {
  if (!v) return undefined;
  try {
    const n = parseFloat(v);
    return Number.isFinite(n) ? n : undefined;
  } catch (e) {
    if (!(e instanceof NumError)) throw e;
    return undefined;
  }
}

/**
 * Whether a server's metadata marks it inactive (`state=inactive`): never selected.
 *
 * @example
 * ```ts
 * import { isInactive } from "@rpcx/core/extend";
 * console.log(isInactive("state=inactive&weight=1")); // true
 * ```
 */
export function isInactive(value: string): boolean {
  return goValues(value)?.get("state")?.[0] === "inactive";
}

/**
 * Whether metadata lists `group` among its `group` values. As in Go, an empty `group` and
 * metadata Go cannot parse match every group.
 *
 * @example
 * ```ts
 * import { inGroup } from "@rpcx/core/extend";
 * console.log(inGroup("group=a&group=b", "b")); // true
 * ```
 */
export function inGroup(value: string, group: string): boolean {
  if (group === "") return true;
  const values = goValues(value);
  return values === undefined || (values.get("group") ?? []).includes(group);
}

/**
 * The figures registry plugins add to a service's metadata when `metrics` is on, as Go rpcx's
 * meters report them: mean `calls` and `connections` per second since the server started,
 * two decimals.
 *
 * @example
 * ```ts
 * import { metricsFigures } from "@rpcx/core/extend";
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
