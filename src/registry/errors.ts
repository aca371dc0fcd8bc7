/**
 * The parent of every registry's errors, so a caller handles a registry failure the same way
 * whatever the registry: `e instanceof RegistryError`, then `e.registry`, `e.operation` and
 * `e.unavailable` (the registry could not be reached: an outage, worth retrying, as opposed to
 * an answer that refused or a registry object already closed).
 *
 * @module
 */
import { RpcxError } from "../protocol/errors.ts";

/** What {@linkcode RegistryError} carries besides its message. */
export interface RegistryErrorOptions extends ErrorOptions {
  /** The registry: `etcd`, `zookeeper`, `consul`, `redis`, `mdns`, `dns`, `cache`, ... */
  registry: string;
  /** What was tried: `connect`, `list`, `SET`, `register`, ... */
  operation: string;
  /** The registry could not be reached (default false). */
  unavailable?: boolean;
}

/**
 * A registry failed: the parent class of `RedisError`, `DnsLookupError`, `CacheFileError` and
 * the other registries' errors, and the error a registry plugin or discovery throws when it is
 * used before it is started or after it is closed.
 *
 * @example
 * ```ts
 * import { RegistryError, RpcxError } from "@rpcx/core";
 * const e = new RegistryError("etcd: connect: deadline exceeded", {
 *   registry: "etcd",
 *   operation: "connect",
 *   unavailable: true,
 * });
 * console.log(e instanceof RpcxError, e.registry, e.unavailable); // true etcd true
 * ```
 */
export class RegistryError extends RpcxError {
  /** The registry: `etcd`, `zookeeper`, `consul`, `redis`, `mdns`, `dns`, `cache`, ... */
  readonly registry: string;
  /** What was tried: `connect`, `list`, `SET`, `register`, ... */
  readonly operation: string;
  /** The registry could not be reached (an outage), as opposed to refusing or being closed. */
  readonly unavailable: boolean;
  /** Creates the error. */
  constructor(message: string, options: RegistryErrorOptions) {
    super(message, options);
    this.registry = options.registry;
    this.operation = options.operation;
    this.unavailable = options.unavailable ?? false;
  }
}
