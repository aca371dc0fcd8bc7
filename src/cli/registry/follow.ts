/**
 * Following a registry: its list polled, changes reported as events.
 *
 * @module
 */
import { within } from "../../_internal/async.ts";
import type { RegistryOperator, ServerNode } from "../../registry/operator.ts";

/**
 * One change of a registry's list: a server `added`, `removed`, or its metadata `changed`
 * (`previous` holds the old metadata).
 *
 * @example
 * ```ts
 * import type { NodeChange } from "@rpcx/core/cli";
 * const c: NodeChange = { type: "added", service: "Arith", key: "tcp@127.0.0.1:8972", metadata: "" };
 * console.log(c.type);
 * ```
 */
export interface NodeChange extends ServerNode {
  /** What happened. */
  type: "added" | "removed" | "changed";
  /** The metadata before a `changed`. */
  previous?: string;
}

/**
 * The changes from list `before` to list `after`, in `after`'s order (removals last).
 *
 * @example
 * ```ts
 * import { diffNodes } from "@rpcx/core/cli";
 * const a = [{ service: "S", key: "k", metadata: "weight=1" }];
 * const b = [{ service: "S", key: "k", metadata: "weight=2" }];
 * console.log(diffNodes(a, b)[0].type); // "changed"
 * ```
 */
export function diffNodes(
  before: readonly ServerNode[],
  after: readonly ServerNode[],
): NodeChange[] {
  const id = (n: ServerNode) => `${n.service}\u0000${n.key}`;
  const old = new Map(before.map((n) => [id(n), n]));
  const out: NodeChange[] = [];
  for (const n of after) {
    const o = old.get(id(n));
    old.delete(id(n));
    if (!o) out.push({ type: "added", ...n });
    else if (o.metadata !== n.metadata) out.push({ type: "changed", ...n, previous: o.metadata });
  }
  for (const o of old.values()) out.push({ type: "removed", ...o });
  return out;
}

/** Options of {@linkcode follow}. */
export interface FollowOptions {
  /** Poll period in ms (default 1000). */
  interval?: number;
  /** Only this service. */
  service?: string;
  /** Stops following. */
  signal?: AbortSignal;
  /** Called with each error listing (the registry unreachable); following goes on. */
  onError?: (e: unknown) => void;
}

/**
 * Lists `registry` every `interval` ms, and at once when the registry notifies a change (etcd,
 * Consul), and calls `onList` with each full list and its changes since the previous one (the
 * first call: every server `added`). Resolves when `signal` aborts.
 *
 * @example
 * ```ts
 * import { follow, openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("etcd://127.0.0.1:2379/rpcx_test");
 * await follow(r, (_list, changes) => console.log(changes), { signal: AbortSignal.timeout(5000) });
 * await r.close();
 * ```
 */
export async function follow(
  registry: RegistryOperator,
  onList: (list: ServerNode[], changes: NodeChange[]) => void | Promise<void>,
  options: FollowOptions = {},
): Promise<void> {
  const interval = options.interval ?? 1000;
  let last: ServerNode[] | undefined;
  while (!options.signal?.aborted) {
    try {
      const list = await registry.list(options.service);
      const changes = diffNodes(last ?? [], list);
      if (last === undefined || changes.length > 0) await onList(list, changes);
      last = list;
    } catch (e) {
      options.onError?.(e);
    }
    // Until the next poll, the registry's own change notification, or the end.
    const wait = new AbortController();
    await within(
      registry.changed?.(wait.signal) ?? new Promise(() => {}),
      interval,
      options.signal,
    );
    wait.abort(); // the registry's watch, if it has not ended
  }
}
