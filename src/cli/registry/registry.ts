/**
 * What the command line and the admin page need from a registry: list every service's
 * servers, edit one server's metadata in place (as rpcx-ui does), and a discovery to call
 * through.
 *
 * @module
 */
import type { ServiceDiscovery } from "../../registry/discovery.ts";
import { CliError, ExitCode } from "../errors.ts";

/**
 * One server of one service as a registry lists it.
 *
 * @example
 * ```ts
 * import type { ServerNode } from "@rpcx/core/cli";
 * const n: ServerNode = { service: "Arith", key: "tcp@127.0.0.1:8972", metadata: "weight=5" };
 * console.log(n.key);
 * ```
 */
export interface ServerNode {
  /** Service path, e.g. `Arith`. */
  service: string;
  /** `network@host:port`. */
  key: string;
  /** Metadata in URL query form (`weight=5&group=a&state=inactive`). */
  metadata: string;
}

/**
 * A registry opened by URL (see `openRegistry`).
 *
 * @example
 * ```ts
 * import { openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("etcd://127.0.0.1:2379/rpcx_test");
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export interface RegistryAdmin {
  /** The URL it was opened with. */
  readonly url: string;
  /** Whether {@linkcode RegistryAdmin.update} can work (mDNS and direct addresses: no). */
  readonly writable: boolean;
  /**
   * Every server of every service (or of `service` only), sorted by service then key; services
   * with no server are left out. Throws a `CliError` (exit 3) when the registry is unreachable.
   */
  list(service?: string): Promise<ServerNode[]>;
  /**
   * Reads the node of `key` under `service`, lets `edit` change its metadata, writes it back
   * in Go's `url.Values.Encode` form, keeping the node's lease/session/ephemeral owner.
   * Resolves with the new metadata. Throws a `CliError` (exit 1) when the node is missing.
   */
  update(service: string, key: string, edit: (meta: URLSearchParams) => void): Promise<string>;
  /**
   * Resolves at the registry's next change notification under the base path, or when `signal`
   * aborts. Registries that notify (etcd watch, Consul blocking query) have it; the others are
   * only polled. A hint: callers list again to see what changed.
   */
  changed?(signal: AbortSignal): Promise<void>;
  /** A discovery of `service` for an `XClient`; the caller closes it. */
  discovery(service: string): ServiceDiscovery;
  /** Releases the registry client. */
  close(): Promise<void>;
}

/**
 * Go's `url.QueryEscape`: everything but `A-Z a-z 0-9 - _ . ~` percent-encoded, space as `+`.
 *
 * @example
 * ```ts
 * import { goQueryEscape } from "@rpcx/core/cli";
 * console.log(goQueryEscape("a b*~")); // "a+b%2A~"
 * ```
 */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/**
 * Metadata as Go's `url.Values.Encode` writes it (what rpcx-ui writes back): keys sorted,
 * each value {@linkcode goQueryEscape}d.
 *
 * @example
 * ```ts
 * import { encodeGoValues } from "@rpcx/core/cli";
 * console.log(encodeGoValues(new URLSearchParams("weight=5&state=inactive&group=a")));
 * // "group=a&state=inactive&weight=5"
 * ```
 */
export function encodeGoValues(meta: URLSearchParams): string {
  const keys = [...new Set(meta.keys())].sort();
  return keys.flatMap((k) => meta.getAll(k).map((v) => `${goQueryEscape(k)}=${goQueryEscape(v)}`))
    .join("&");
}

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

/** Splits `rel` (`Service/network@addr`) into service and key; undefined for directories. */
export function splitNodePath(rel: string): { service: string; key: string } | undefined {
  const i = rel.indexOf("/");
  if (i <= 0 || i === rel.length - 1) return undefined;
  return { service: rel.slice(0, i), key: rel.slice(i + 1) };
}

/** Sorts nodes by service, then key. */
export function sortNodes(nodes: ServerNode[]): ServerNode[] {
  return nodes.sort((a, b) =>
    a.service < b.service
      ? -1
      : a.service > b.service
      ? 1
      : a.key < b.key
      ? -1
      : a.key > b.key
      ? 1
      : 0
  );
}

/** The node of `service`/`key` is not in the registry (exit 1). */
export function nodeMissing(service: string, key: string, url: string): CliError {
  return new CliError(`no server ${key} under service ${service} in ${url}`, ExitCode.Failed);
}

/**
 * Callers waiting for a registry's next change: `wait` resolves at the next `wake` (or when its
 * signal aborts).
 */
export class ChangeWaiters {
  readonly #waiters = new Set<() => void>();

  /** Whether anybody waits. */
  get size(): number {
    return this.#waiters.size;
  }

  /** Resolves at the next {@linkcode ChangeWaiters.wake} or when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Resolves every waiter. */
  wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** Whether `metadata` holds every `key=value` of `assignments` (`key=`: key absent). */
function holds(metadata: string, assignments: readonly string[]): boolean {
  const m = new URLSearchParams(metadata);
  return assignments.every((a) => {
    const i = a.indexOf("=");
    const value = a.slice(i + 1);
    return value === "" ? !m.has(a.slice(0, i)) : m.get(a.slice(0, i)) === value;
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
  registry: RegistryAdmin,
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
  registry: RegistryAdmin,
  service: string,
  key: string,
  assignments: readonly string[],
  settleMs: number,
  written: string,
  signal?: AbortSignal,
): Promise<string> {
  let metadata = written;
  for (let round = 0; round < 3 && settleMs > 0; round++) {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, settleMs);
      signal?.addEventListener("abort", done, { once: true });
    });
    if (signal?.aborted) return metadata; // a newer edit of the node took over
    const node = (await registry.list(service)).find((n) => n.key === key);
    if (!node) throw nodeMissing(service, key, registry.url);
    if (holds(node.metadata, assignments)) return node.metadata;
    metadata = await registry.update(service, key, (m) => applyAssignments(m, assignments));
  }
  return metadata;
}
