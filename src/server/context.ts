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
 * import { type CallContext, Client, type Metadata, Server } from "@rpcx/core";
 * class Echo {
 *   Say(args: string, ctx: CallContext): string {
 *     ctx.replyMetadata["served-by"] = "deno";
 *     return `${args} from ${ctx.remoteAddress}`;
 *   }
 * }
 * const server = new Server();
 * await server.register(new Echo());
 * const client = new Client(`tcp@${await server.serve("tcp", "127.0.0.1:0")}`);
 * const replyMetadata: Metadata = {};
 * console.log(await client.call("Echo", "Say", "hi", { replyMetadata })); // hi from 127.0.0.1:…
 * console.log(replyMetadata["served-by"]); // deno
 * await client.close();
 * await server.close();
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
