/**
 * The etcd registry's errors: {@linkcode EtcdError}, a {@linkcode RegistryError}, and its
 * {@linkcode EtcdUnreachableError}.
 *
 * @module
 */
import { RegistryError } from "../errors.ts";

/**
 * An error of the etcd registry (a {@linkcode RegistryError}, `registry` `etcd`): the parent of
 * {@linkcode EtcdUnreachableError}, and the error of a lease that cannot be granted or of a
 * register plugin used after `stop`. A bad option is a `TypeError`.
 *
 * @example
 * ```ts
 * import { EtcdError } from "@rpcx/core/etcd";
 * const e = new EtcdError("etcd: register plugin is stopped", { operation: "register" });
 * console.log(e.registry, e.operation, e.unavailable); // etcd register false
 * ```
 */
export class EtcdError extends RegistryError {
  /** Creates the error; `operation` is what was tried (`connect`, `lease.grant`, ...). */
  constructor(
    message: string,
    options: ErrorOptions & { operation: string; unavailable?: boolean },
  ) {
    super(message, { ...options, registry: "etcd" });
  }
}

/**
 * No etcd endpoint could be reached: every one was dialled (again) and none answered within
 * `endpointDialTimeout`. The message lists each endpoint with its state. An
 * {@linkcode EtcdError} with `operation` `connect` and `unavailable` true.
 *
 * @example
 * ```ts
 * import { EtcdUnreachableError } from "@rpcx/core/etcd";
 * const e = new EtcdUnreachableError("127.0.0.1:2379 (down: connection refused)");
 * console.log(e.message); // etcd: no endpoint reachable: 127.0.0.1:2379 (down: connection refused)
 * ```
 */
export class EtcdUnreachableError extends EtcdError {
  /** Creates the error; `endpoints` says what each endpoint did. */
  constructor(endpoints: string) {
    super(`etcd: no endpoint reachable: ${endpoints}`, { operation: "connect", unavailable: true });
  }
}
