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
 * Whether a server's metadata marks it inactive (`state=inactive`): never selected.
 *
 * @example
 * ```ts
 * import { isInactive } from "@rpcx/core";
 * console.log(isInactive("state=inactive&weight=1")); // true
 * ```
 */
export function isInactive(value: string): boolean {
  return parseMetadata(value).get("state") === "inactive";
}

/**
 * Whether metadata lists `group` among its `group` values.
 *
 * @example
 * ```ts
 * import { inGroup } from "@rpcx/core";
 * console.log(inGroup("group=a&group=b", "b")); // true
 * ```
 */
export function inGroup(value: string, group: string): boolean {
  return parseMetadata(value).getAll("group").includes(group);
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
