/**
 * What an operator (the `rpcx` command line, the admin page) needs from a registry: list every
 * service's servers, edit one server's metadata in place as rpcx-ui does, learn of changes, and
 * a discovery to call through. Each registry folder implements it in its `operator.ts`
 * (`openOperator`), with the registry's own client and the same TLS, auth and multi-endpoint
 * options as its plugin; the command line finds the folder by URL scheme.
 *
 * @module
 */
import { encodeValues, queryEscape } from "../_internal/go/url.ts";
import type { ServiceDiscovery } from "./discovery.ts";
import { RegistryError, type RegistryErrorOptions } from "./errors.ts";

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
 * A registry as an operator sees it (see `openRegistry` in `@rpcx/core/cli`). Every method
 * fails with a {@linkcode RegistryOperatorError}; nothing is contacted before the first call.
 *
 * @example
 * ```ts
 * import { openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("etcd://127.0.0.1:2379/rpcx_test");
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export interface RegistryOperator {
  /** The URL it was opened with. */
  readonly url: string;
  /** Whether {@linkcode RegistryOperator.update} can work (mDNS, DNS, direct addresses: no). */
  readonly writable: boolean;
  /**
   * Every server of every service (or of `service` only), sorted by service then key; services
   * with no server are left out. Rejects (`"unreachable"`) when the registry cannot be reached
   * or refuses the credentials.
   */
  list(service?: string): Promise<ServerNode[]>;
  /**
   * Reads the node of `key` under `service` (its metadata read by Go's `url.ParseQuery`,
   * keeping the pairs that parse, as Go's registry plugins' refresh does: a pair with a bad `%`
   * escape or a `;` is dropped), lets `edit` change its metadata, writes it back
   * in Go's `url.Values.Encode` form (compare-and-set), keeping the node's lease, session,
   * ephemeral owner or TTL. Resolves with the new metadata. Rejects `"missing"` when there is no
   * such node, `"conflict"` when it kept changing, `"usage"` on a read-only registry.
   */
  update(service: string, key: string, edit: (meta: URLSearchParams) => void): Promise<string>;
  /**
   * Resolves at the registry's next change notification under the base path, or when `signal`
   * aborts. Registries that notify (etcd watch, Consul blocking query, Redis keyspace events)
   * have it; the others are only polled. A hint: callers list again to see what changed.
   */
  changed?(signal: AbortSignal): Promise<void>;
  /** A discovery of `service` for an `XClient`, with the same options; the caller closes it. */
  discovery(service: string): ServiceDiscovery;
  /** Releases the registry client (bounded). */
  close(): Promise<void>;
}

/**
 * Where and how to reach a registry: a registry URL taken apart, with the credentials of the
 * URL and of the command line's flags merged (the URL's win) and certificate files read.
 *
 * @example
 * ```ts
 * import type { OperatorTarget } from "@rpcx/core/cli";
 * const t: OperatorTarget = {
 *   url: "etcd://127.0.0.1:2379/rpcx_test",
 *   registry: "etcd",
 *   servers: ["127.0.0.1:2379"],
 *   basePath: "/rpcx_test",
 *   tls: false,
 *   params: new URLSearchParams(),
 *   fromUrl: new Set(),
 * };
 * console.log(t.servers);
 * ```
 */
export interface OperatorTarget {
  /** The URL as given (messages, `RegistryOperator.url`). */
  url: string;
  /** The registry's name in the command line's table, e.g. `etcd`. */
  registry: string;
  /** `host:port` of each endpoint, the registry's default port filled in. */
  servers: string[];
  /** The base path (the URL's path; `/rpcx`, Go's default, when it has none). */
  basePath: string;
  /** TLS asked for: a `+tls` scheme (`etcd+tls://`, `rediss://`) or a certificate in the URL. */
  tls: boolean;
  /** PEM text of the CA that signed the registry's certificate. */
  ca?: string;
  /** PEM text of this client's certificate (mutual TLS). */
  cert?: string;
  /** PEM text of the key of `cert`. */
  key?: string;
  /** User name (etcd user, ZooKeeper digest user, Redis ACL user). */
  username?: string;
  /** Password (of `username`; Redis: alone, `requirepass`). */
  password?: string;
  /** Token (Consul ACL token). */
  token?: string;
  /** The URL's other query parameters (e.g. `timeout`, `db`, `nameserver`). */
  params: URLSearchParams;
  /**
   * Which of `ca`, `cert`, `key`, `username`, `password`, `token` the URL itself gave (the
   * others came from flags, which every registry URL shares; a registry ignores flags it has no
   * use for but refuses such settings in its own URL).
   */
  fromUrl: ReadonlySet<CredentialName>;
}

/** The credential fields of an {@linkcode OperatorTarget}. */
export type CredentialName = "ca" | "cert" | "key" | "username" | "password" | "token";

/**
 * What each registry folder's `operator.ts` exports: `openOperator`, which checks the target
 * and returns the operator without contacting anything. Throws a
 * {@linkcode RegistryOperatorError} (`"usage"`) on settings the registry cannot take.
 */
export interface OperatorModule {
  /** Opens the registry named by `target`. */
  openOperator(target: OperatorTarget): RegistryOperator;
}

/**
 * Why an operator's call failed: `"usage"` (bad URL settings, a read-only registry),
 * `"missing"` (no such node), `"conflict"` (the node kept changing), `"unreachable"` (the
 * registry could not be reached, or refused the credentials).
 */
export type OperatorFailure = "usage" | "missing" | "conflict" | "unreachable";

/**
 * The error of every {@linkcode RegistryOperator} call and of `openOperator`: a
 * `RegistryError` (`registry`, `operation`: `open`, `list`, `update`; `unavailable` when the
 * registry could not be reached, as its own error says) with the `reason` the command line maps
 * to its exit code (2, 1, 1, 3) and the admin page to an HTTP status.
 *
 * @example
 * ```ts
 * import { RegistryOperatorError } from "@rpcx/core/cli";
 * const e = new RegistryOperatorError("missing", "no server tcp@h:1 under service Arith", {
 *   registry: "etcd",
 *   operation: "update",
 * });
 * console.log(e.reason, e.registry, e.unavailable); // missing etcd false
 * ```
 */
export class RegistryOperatorError extends RegistryError {
  /** What went wrong. */
  readonly reason: OperatorFailure;
  /** Creates the error. */
  constructor(reason: OperatorFailure, message: string, options: RegistryErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** Bad settings of `registry` (exit 2). */
export function usageError(registry: string, message: string): RegistryOperatorError {
  return new RegistryOperatorError("usage", message, { registry, operation: "open" });
}

/** Whether `cause` says its registry could not be reached (its own `unavailable`, or no answer). */
function unavailableOf(cause: unknown): boolean {
  const u = (cause as { unavailable?: unknown } | undefined)?.unavailable;
  if (typeof u === "boolean") return u;
  const status = (cause as { status?: unknown } | undefined)?.status; // ConsulError: HTTP status
  if (cause instanceof Error && cause.name === "ConsulError") return status === undefined;
  // gRPC (etcd): UNAVAILABLE and DEADLINE_EXCEEDED, or a transport error's words
  return /unavailable|deadline|unreachable|refused|timed? ?out|ECONN|closed/i.test(String(cause));
}

/**
 * `where` (e.g. `etcd 127.0.0.1:2379`) could not be reached, or refused what `operation` asked:
 * `where: <cause>` (exit 3).
 */
export function unreachableError(
  registry: string,
  operation: string,
  where: string,
  cause: unknown,
): RegistryOperatorError {
  if (cause instanceof RegistryOperatorError) return cause;
  // grpc-js (etcd) ends its messages with an empty "Resolution note:".
  const detail = (cause instanceof Error ? cause.message : String(cause))
    .replace(/\s*Resolution note:\s*$/, "").trim();
  return new RegistryOperatorError("unreachable", `${where}: ${detail}`, {
    registry,
    // the registry's own error names what failed (e.g. Redis's `SCAN`)
    operation: cause instanceof RegistryError ? cause.operation : operation,
    unavailable: unavailableOf(cause),
    cause,
  });
}

/** The node of `service`/`key` is not in the registry (exit 1). */
export function nodeMissing(
  registry: string,
  service: string,
  key: string,
  url: string,
): RegistryOperatorError {
  return new RegistryOperatorError(
    "missing",
    `no server ${key} under service ${service} in ${url}`,
    { registry, operation: "update" },
  );
}

/** `path` changed under every compare-and-set try (exit 1). */
export function nodeBusy(registry: string, path: string): RegistryOperatorError {
  return new RegistryOperatorError("conflict", `${path} kept changing; not written`, {
    registry,
    operation: "update",
  });
}

/** A rejection for `update` of a registry that cannot be written (`why`; exit 2). */
export function readOnly(registry: string, why: string): Promise<never> {
  return Promise.reject(
    new RegistryOperatorError("usage", why, { registry, operation: "update" }),
  );
}

/**
 * Refuses settings the registry has no use for when the URL itself gives them (flags shared by
 * several URLs are ignored where they do not apply), and query parameters other than `known`.
 */
export function checkTarget(
  target: OperatorTarget,
  unsupported: Partial<Record<CredentialName | "tls", string>>,
  known: readonly string[] = [],
): void {
  for (const [name, why] of Object.entries(unsupported)) {
    if (name === "tls" ? target.tls : target.fromUrl.has(name as CredentialName)) {
      throw usageError(target.registry, `registry "${target.url}": ${why}`);
    }
  }
  for (const name of target.params.keys()) {
    if (!known.includes(name)) {
      const list = known.length ? ` (it takes ${known.join(", ")})` : "";
      throw usageError(
        target.registry,
        `registry "${target.url}": unknown parameter ${name}${list}`,
      );
    }
  }
}

/** A positive number of ms from query parameter `name`, or `fallback`. */
export function msParam(target: OperatorTarget, name: string, fallback: number): number {
  const text = target.params.get(name);
  if (text === null) return fallback;
  const n = Number(text);
  if (!(Number.isFinite(n) && n > 0)) {
    throw usageError(
      target.registry,
      `registry "${target.url}": ${name} must be a positive number of ms`,
    );
  }
  return n;
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
export const goQueryEscape: (s: string) => string = queryEscape;

/**
 * Metadata as Go's `url.Values.Encode` writes it (what rpcx-ui writes back): keys sorted by
 * their bytes, each value {@linkcode goQueryEscape}d.
 *
 * @example
 * ```ts
 * import { encodeGoValues } from "@rpcx/core/cli";
 * console.log(encodeGoValues(new URLSearchParams("weight=5&state=inactive&group=a")));
 * // "group=a&state=inactive&weight=5"
 * ```
 */
export const encodeGoValues = (meta: URLSearchParams): string => encodeValues(meta);

/** Splits `rel` (`Service/network@addr`) into service and key; undefined for directories. */
export function splitNodePath(rel: string): { service: string; key: string } | undefined {
  const i = rel.indexOf("/");
  if (i <= 0 || i === rel.length - 1) return undefined;
  return { service: rel.slice(0, i), key: rel.slice(i + 1) };
}

/** Sorts nodes by service, then key. */
export function sortNodes(nodes: ServerNode[]): ServerNode[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return nodes.sort((a, b) => cmp(a.service, b.service) || cmp(a.key, b.key));
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
