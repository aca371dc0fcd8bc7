/**
 * The context a service method receives with its args, and what it learns of its connection.
 *
 * @module
 */
import type { Metadata } from "../protocol/message.ts";
import type { ConnInfo } from "../transport/network.ts";

export type { ConnInfo } from "../transport/network.ts";

/**
 * Per-call information and the reply metadata a method may set.
 *
 * @example
 * ```ts
 * import type { CallContext } from "@rpcx/core";
 * class Echo {
 *   Say(args: string, ctx: CallContext): string {
 *     ctx.replyMetadata["served-by"] = "deno";
 *     return `${args} from ${ctx.remoteAddress}`;
 *   }
 * }
 * console.log(typeof new Echo().Say);
 * ```
 */
export interface CallContext {
  /** The service name called. */
  readonly servicePath: string;
  /** The method called. */
  readonly serviceMethod: string;
  /** Request metadata. */
  readonly metadata: Readonly<Metadata>;
  /** Metadata to send back with the reply; set keys on it. */
  readonly replyMetadata: Metadata;
  /** The caller's address (`host:port`, or the in-process client name). */
  readonly remoteAddress: string;
  /** The connection the request came on. */
  readonly conn: ConnInfo;
  /** When the caller stops waiting (ms since epoch), from `__ServerTimeout`; undefined if none. */
  readonly deadline: number | undefined;
  /** Aborted when the deadline passes or the server shuts down hard. */
  readonly signal: AbortSignal;
  /** The request's serialize type. */
  readonly serializeType: number;
  /** The request's seq. */
  readonly seq: bigint;
}
