/**
 * The retry delay of registries and XClient's failed servers.
 *
 * @module
 */

/**
 * Backoff before retry number `attempt` (1-based): `initialMs` doubling up to `maxMs`
 * (Go rpcx: 1 s doubling to 30 s).
 *
 * @example
 * ```ts
 * import { backoffDelay } from "@rpcx/core/extend";
 * console.log(backoffDelay(1), backoffDelay(3), backoffDelay(20)); // 1000 4000 30000
 * ```
 */
export function backoffDelay(attempt: number, initialMs = 1000, maxMs = 30_000): number {
  const exp = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(initialMs * 2 ** exp, maxMs);
}
