/**
 * What the command line and the admin page do with a registry beyond the registry's own
 * operator (`src/registry/operator.ts`): apply an operator's `key=value` edits, and make them
 * stick against a server's read-then-write refresh.
 *
 * @module
 */
import { sleep } from "../../_internal/async.ts";
import { parseQuery } from "../../_internal/go/url.ts";
import type { RegistryOperator } from "../../registry/operator.ts";
import { CliError, ExitCode } from "../errors.ts";

export {
  encodeGoValues,
  goQueryEscape,
  type RegistryOperator,
  RegistryOperatorError,
  type ServerNode,
} from "../../registry/operator.ts";

/**
 * Applies `key=value` assignments to metadata: `state=inactive`, `weight=3`, `group=a`; an
 * empty value (`group=`) removes the key. Throws a `CliError` (exit 2) on text without `=`.
 *
 * @example
 * ```ts
 * import { applyAssignments } from "@rpcx/core/cli";
 * const m = new URLSearchParams("weight=5&group=a");
 * applyAssignments(m, ["state=inactive", "group="]);
 * console.log(m.toString()); // "weight=5&state=inactive"
 * ```
 */
export function applyAssignments(meta: URLSearchParams, assignments: readonly string[]): void {
  for (const a of assignments) {
    const i = a.indexOf("=");
    if (i <= 0) {
      throw new CliError(`expected key=value, got "${a}"`, ExitCode.Usage);
    }
    const key = a.slice(0, i);
    const value = a.slice(i + 1);
    if (value === "") meta.delete(key);
    else meta.set(key, value);
  }
}

/**
 * What `rpcx list` and the admin page show of a node: its STATE, WEIGHT and GROUPs as Go's
 * client reads them (`url.ParseQuery`, src/_internal/go/url.ts): metadata Go cannot parse (a
 * `;`, a bad `%` escape) is ignored as Go's client ignores it, so such a node shows as active,
 * with no weight and no group, which is how Go's clients call it.
 */
export interface NodeView {
  /**
   * `inactive` or `active` for a registry's node; for a server named directly (`tcp@…`, listed
   * under service `*` with `state=up` or `state=down&error=…` from a heartbeat), `up` or `down`.
   */
  state: string;
  /** The first `weight` value, as written (absent: undefined). */
  weight: string | undefined;
  /** The `group` values, in order. */
  groups: string[];
}

/** A node's {@linkcode NodeView}. */
export function viewOf(node: { service: string; metadata: string }): NodeView {
  const { values, error } = parseQuery(node.metadata);
  const m = error ? new Map<string, string[]>() : values;
  const state = m.get("state")?.[0];
  return {
    state: node.service === "*" && (state === "up" || state === "down")
      ? state
      : state === "inactive"
      ? "inactive"
      : "active",
    weight: m.get("weight")?.[0],
    groups: m.get("group") ?? [],
  };
}

/**
 * Whether `metadata` holds every `key=value` of `assignments` (`key=`: key absent), read as the
 * operator's `update` reads it: Go's `url.ParseQuery`, keeping the pairs that parse.
 */
function holds(metadata: string, assignments: readonly string[]): boolean {
  const m = parseQuery(metadata).values;
  return assignments.every((a) => {
    const i = a.indexOf("=");
    const value = a.slice(i + 1);
    const first = m.get(a.slice(0, i))?.[0];
    return value === "" ? first === undefined : first === value;
  });
}

/**
 * An operator's edit that sticks: applies `assignments` with `registry.update`, then, `settleMs`
 * later, reads the node again and re-applies them if a server's refresh wrote the old value
 * back (Go's plugins refresh by read-then-write, so a write landing between their read and
 * their write is lost; rpcx-ui has the same race). Up to 3 rounds; `settleMs` 0 skips the
 * check. Resolves with the node's metadata.
 *
 * @example
 * ```ts
 * import { openRegistry, setAndConfirm } from "@rpcx/core/cli";
 * const r = await openRegistry("zookeeper://127.0.0.1:2181/rpcx_test");
 * console.log(await setAndConfirm(r, "Arith", "tcp@127.0.0.1:8972", ["state=inactive"], 1000));
 * await r.close();
 * ```
 */
export async function setAndConfirm(
  registry: RegistryOperator,
  service: string,
  key: string,
  assignments: readonly string[],
  settleMs: number,
): Promise<string> {
  const metadata = await registry.update(service, key, (m) => applyAssignments(m, assignments));
  return await confirmEdit(registry, service, key, assignments, settleMs, metadata);
}

/**
 * The checking half of {@linkcode setAndConfirm}: after an edit already written, waits
 * `settleMs`, re-reads the node and re-applies `assignments` if they were lost (up to 3 rounds).
 * Resolves with the node's metadata (`written` when `settleMs` is 0). Aborting `signal` (e.g.
 * when a newer edit of the same node is made) stops checking without writing.
 *
 * @example
 * ```ts
 * import { confirmEdit, openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("etcd://127.0.0.1:2379/rpcx_test");
 * const set = ["state=inactive"];
 * const written = await r.update("Arith", "tcp@127.0.0.1:8972", (m) => m.set("state", "inactive"));
 * console.log(await confirmEdit(r, "Arith", "tcp@127.0.0.1:8972", set, 1000, written));
 * await r.close();
 * ```
 */
export async function confirmEdit(
  registry: RegistryOperator,
  service: string,
  key: string,
  assignments: readonly string[],
  settleMs: number,
  written: string,
  signal?: AbortSignal,
): Promise<string> {
  let metadata = written;
  for (let round = 0; round < 3 && settleMs > 0; round++) {
    await sleep(settleMs, signal);
    if (signal?.aborted) return metadata; // a newer edit of the node took over
    const node = (await registry.list(service)).find((n) => n.key === key);
    if (!node) {
      throw new CliError(
        `no server ${key} under service ${service} in ${registry.url}`,
        ExitCode.Failed,
      );
    }
    if (holds(node.metadata, assignments)) return node.metadata;
    metadata = await registry.update(service, key, (m) => applyAssignments(m, assignments));
  }
  return metadata;
}
