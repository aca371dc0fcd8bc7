/**
 * Select modes: how XClient picks one server among those available. One selector per file in
 * `selectors/`; this module gathers them.
 *
 * @module
 */
export { SelectMode, type Selector } from "./selectors/selector.ts";
export { RandomSelector } from "./selectors/random.ts";
export { RoundRobinSelector } from "./selectors/round_robin.ts";
export { WeightedRoundRobinSelector } from "./selectors/weighted.ts";
export {
  type LatencyProbe,
  latencyWeight,
  tcpConnectLatency,
  WeightedLatencySelector,
} from "./selectors/latency.ts";
export { ConsistentHashSelector } from "./selectors/consistent_hash.ts";
export { ClosestSelector, geoDistance } from "./selectors/closest.ts";
