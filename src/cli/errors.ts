/**
 * Errors of the `rpcx` command line, each with the process exit code it maps to.
 *
 * @module
 */
import { RpcxError } from "../protocol/errors.ts";

/**
 * Exit codes of `rpcx`: 0 success, 1 the operation failed (service error, timeout, no server),
 * 2 bad usage (unknown command or flag, malformed URL, JSON or assignment), 3 the registry or
 * server could not be reached.
 *
 * @example
 * ```ts
 * import { ExitCode } from "@rpcx/core/cli";
 * console.log(ExitCode.Usage); // 2
 * ```
 */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2, Unreachable: 3 } as const;
/** One of {@linkcode ExitCode}'s values. */
export type ExitCode = typeof ExitCode[keyof typeof ExitCode];

/**
 * An error the command line reports as one line `rpcx: <message>` and exits with `exitCode`.
 *
 * @example
 * ```ts
 * import { CliError, ExitCode } from "@rpcx/core/cli";
 * const e = new CliError("no such service", ExitCode.Failed);
 * console.log(e.exitCode); // 1
 * ```
 */
export class CliError extends RpcxError {
  /** The process exit code. */
  readonly exitCode: ExitCode;
  /** Creates the error. */
  constructor(message: string, exitCode: ExitCode, options?: ErrorOptions) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** A usage error (exit 2). */
export function usage(message: string): CliError {
  return new CliError(message, ExitCode.Usage);
}

/** A registry or server that could not be reached (exit 3). */
export function unreachable(what: string, cause: unknown): CliError {
  // grpc-js (etcd) ends its messages with an empty "Resolution note:".
  const detail = (cause instanceof Error ? cause.message : String(cause))
    .replace(/\s*Resolution note:\s*$/, "").trim();
  return new CliError(`${what}: ${detail}`, ExitCode.Unreachable, { cause });
}
