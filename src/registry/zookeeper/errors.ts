/**
 * ZooKeeper's error codes and {@linkcode ZooKeeperError}, the error of every ZooKeeper
 * operation of this adapter.
 *
 * @module
 */

/** ZooKeeper error codes (KeeperException.Code). */
export const CONNECTION_LOSS = -4;
export const OPERATION_TIMEOUT = -7;
export const NO_NODE = -101;
export const NO_AUTH = -102;
export const BAD_VERSION = -103;
export const NODE_EXISTS = -110;
export const SESSION_EXPIRED = -112;

/**
 * An error of a ZooKeeper operation: `code` is ZooKeeper's (`-4` connection loss, `-7`
 * operation timeout, `-101` no node, `-102` no auth (the ACL refuses), `-103` bad version, `-110` node exists, `-112` session expired, ...).
 *
 * @example
 * ```ts
 * import { ZooKeeperError } from "@rpcx/core/zookeeper";
 * const e = new ZooKeeperError(-101, "NO_NODE", "getData /rpcx_test");
 * console.log(e.code, e.unavailable); // -101 false
 * ```
 */
export class ZooKeeperError extends Error {
  /** ZooKeeper's error code. */
  readonly code: number;
  /** ZooKeeper's error name, e.g. `NO_NODE`. */
  readonly codeName: string;

  /** Creates the error; `what` names the operation and path. */
  constructor(code: number, codeName: string, what: string) {
    super(`zookeeper ${what}: ${codeName}[${code}]`);
    this.name = "ZooKeeperError";
    this.code = code;
    this.codeName = codeName;
  }

  /** Whether ZooKeeper could not be reached (connection loss, timeout, expired session). */
  get unavailable(): boolean {
    return this.code === CONNECTION_LOSS || this.code === OPERATION_TIMEOUT ||
      this.code === SESSION_EXPIRED;
  }
}

/** ZooKeeper's code of `e`, when it is a {@linkcode ZooKeeperError}. */
export function codeOf(e: unknown): number | undefined {
  return e instanceof ZooKeeperError ? e.code : undefined;
}
