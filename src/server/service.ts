/**
 * Turning a user object into a table of callable methods.
 *
 * @module
 */
import type { CallContext } from "./context.ts";

/**
 * A service method: takes the decoded args and the call context, returns the reply (or a
 * promise of it). Throwing sends an error reply with the error's message.
 *
 * @example
 * ```ts
 * import type { ServiceMethod } from "@rpcx/core/extend";
 * const mul: ServiceMethod = (args) => {
 *   const { A, B } = args as { A: number; B: number };
 *   return { C: A * B };
 * };
 * const call = mul as (args: unknown, ctx: unknown) => unknown;
 * console.log(call({ A: 2, B: 3 }, undefined)); // { C: 6 }
 * ```
 */
export type ServiceMethod = (args: never, ctx: CallContext) => unknown;

/** A registered service. */
export interface ServiceEntry {
  /** The service path. */
  readonly name: string;
  /** Methods by name. */
  readonly methods: Map<string, (args: unknown, ctx: CallContext) => unknown>;
  /** The metadata string advertised to registries. */
  metadata: string;
  /** The object registered (for registries that want it). */
  readonly receiver: unknown;
}

/**
 * The callable methods of `receiver`: own and inherited function properties, except
 * `constructor` and names starting with `_`. Bound to the receiver.
 */
export function collectMethods(
  receiver: object,
): Map<string, (args: unknown, ctx: CallContext) => unknown> {
  const methods = new Map<string, (args: unknown, ctx: CallContext) => unknown>();
  let proto: object | null = receiver;
  while (proto && proto !== Object.prototype && proto !== Function.prototype) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === "constructor" || key.startsWith("_") || methods.has(key)) continue;
      const desc = Object.getOwnPropertyDescriptor(proto, key);
      if (!desc || typeof desc.value !== "function") continue;
      methods.set(key, desc.value.bind(receiver));
    }
    proto = Object.getPrototypeOf(proto);
  }
  return methods;
}
