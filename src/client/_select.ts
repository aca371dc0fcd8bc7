/**
 * Internal to XClient: the selector of a select mode.
 *
 * @module
 */
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
