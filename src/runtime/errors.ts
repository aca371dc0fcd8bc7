/**
 * Errors the runtime seam raises in place of a runtime's own classes.
 *
 * @module
 */
import { RpcxError } from "../protocol/errors.ts";
import type { Permission } from "./types.ts";

/**
 * The process lacks a permission the operation needs (Deno without `--allow-net`,
 * `--allow-sys=...`, and no prompt granted it). Raised before anything is opened; Deno's own
 * `NotCapable`/`PermissionDenied` is the `cause` where Deno raised one. Node and Bun have no
 * such permissions and never raise it.
 *
 * @example
 * ```ts
 * import { PermissionError } from "@rpcx/core";
 * const e = new PermissionError(["sys:hostname"], "mdns needs --allow-sys=hostname");
 * console.log(e.permissions, e.message); // [ "sys:hostname" ] mdns needs --allow-sys=hostname
 * ```
 */
export class PermissionError extends RpcxError {
  /** The permissions that are missing. */
  readonly permissions: readonly Permission[];
  /** Creates the error: `message` says what needs the permissions and how to grant them. */
  constructor(permissions: readonly Permission[], message: string, options?: ErrorOptions) {
    super(message, options);
    this.permissions = Object.freeze([...permissions]);
  }
}
