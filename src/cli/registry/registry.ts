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
 * ```ts ignore
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
