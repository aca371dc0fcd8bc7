/**
 * ZooKeeper's error codes and {@linkcode ZooKeeperError}, the error of every ZooKeeper
 * operation of this adapter.
 *
 * @module
 */
import { RegistryError } from "../errors.ts";

/** ZooKeeper error codes (KeeperException.Code). */
export const CONNECTION_LOSS = -4;
export const OPERATION_TIMEOUT = -7;
export const NO_NODE = -101;
export const NO_AUTH = -102;
export const BAD_VERSION = -103;
export const NODE_EXISTS = -110;
export const SESSION_EXPIRED = -112;

/**
 * An error of a ZooKeeper operation (a {@linkcode RegistryError}, `registry` `zookeeper`):
 * `code` is ZooKeeper's (`-4` connection loss, `-7` operation timeout, `-101` no node, `-102`
 * no auth (the ACL refuses), `-103` bad version, `-110` node exists, `-112` session expired,
 * ...); `unavailable` is true for connection loss, operation timeout and an expired session;
 * `operation` is the first word of `what` (e.g. `getData`).
 *
 * @example
 * ```ts
 * import { ZooKeeperError } from "@rpcx/core/zookeeper";
 * const e = new ZooKeeperError(-101, "NO_NODE", "getData /rpcx_test");
 * console.log(e.code, e.operation, e.unavailable); // -101 getData false
 * ```
 */
export class ZooKeeperError extends RegistryError {
  /** ZooKeeper's error code. */
  readonly code: number;
  /** ZooKeeper's error name, e.g. `NO_NODE`. */
  readonly codeName: string;

  /** Creates the error; `what` names the operation and path. */
  constructor(code: number, codeName: string, what: string) {
    super(`zookeeper ${what}: ${codeName}[${code}]`, {
      registry: "zookeeper",
      operation: what.split(" ", 1)[0],
      unavailable: code === CONNECTION_LOSS || code === OPERATION_TIMEOUT ||
        code === SESSION_EXPIRED,
    });
    this.code = code;
    this.codeName = codeName;
  }
}

/** ZooKeeper's code of `e`, when it is a {@linkcode ZooKeeperError}. */
export function codeOf(e: unknown): number | undefined {
  return e instanceof ZooKeeperError ? e.code : undefined;
}
