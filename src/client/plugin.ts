/**
 * Client plugins: typed hooks around calls, connections, encoding and node selection, as Go
 * rpcx's client `PluginContainer`, run in the order they were given.
 *
 * @module
 */
import type { Message, Metadata } from "../protocol/message.ts";

/**
 * What a client plugin learns of a connection.
 *
 * @example
 * ```ts
 * import type { ClientConnInfo } from "@rpcx/core/extend";
 * const c: ClientConnInfo = { address: "tcp@127.0.0.1:8972" };
 * console.log(c.address);
 * ```
 */
export interface ClientConnInfo {
  /** The server as `network@address` (`tcp@127.0.0.1:8972`, `inprocess@name`). */
  readonly address: string;
}

/**
 * One call as client plugins see it; the same object is handed to `preCall` and `postCall`, so
 * a plugin may key its own state on it (a `WeakMap`).
 *
 * @example
 * ```ts
 * import type { ClientCall } from "@rpcx/core/extend";
 * const call: ClientCall = {
 *   address: "tcp@127.0.0.1:8972", servicePath: "Arith", serviceMethod: "Mul",
 *   args: { A: 2, B: 3 }, metadata: {}, oneway: false,
 * };
 * call.metadata["x-request-id"] = "42"; // sent with the request
 * ```
 */
export interface ClientCall {
  /** The server called, as `network@address`. */
  readonly address: string;
  /** The service called. */
  readonly servicePath: string;
  /** The method called. */
  readonly serviceMethod: string;
  /** The call's args (for XClient `sendRaw`: the raw payload). */
  readonly args: unknown;
  /** The request metadata; `preCall` may add or change keys, they are sent. */
  readonly metadata: Metadata;
  /** Whether no reply is expected. */
  readonly oneway: boolean;
}

/**
 * A node selection function: the server key (`network@address`) for one call, or undefined
 * when none fits. Mirrors Go rpcx's `SelectFunc`.
 *
 * @example
 * ```ts
 * import type { SelectFunc } from "@rpcx/core/extend";
 * const first: SelectFunc = () => "tcp@127.0.0.1:8972";
 * console.log(first("Arith", "Mul", {}));
 * ```
 */
export type SelectFunc = (
  servicePath: string,
  serviceMethod: string,
  args: unknown,
) => string | undefined;

/**
 * Hooks a client plugin may implement; every one is optional. Give plugins in
 * `ClientOptions.plugins` (an XClient hands them to each of its connections). Mirrors Go rpcx's
 * client plugin interfaces (`PreCallPlugin` … `SelectNodePlugin`). When a hook throws, what
 * happens is said per hook; a hook that "is reported" logs a warning through the library's
 * logger (see `setLogger`) and the call or connection goes on as if it had not thrown.
 *
 * @example
 * ```ts
 * import { Client } from "@rpcx/core";
 * import type { ClientPlugin } from "@rpcx/core/extend";
 * const requestIds: ClientPlugin = {
 *   name: "request-id",
 *   preCall(call) {
 *     call.metadata["x-request-id"] = crypto.randomUUID();
 *   },
 *   postCall(call, _reply, error) {
 *     if (error) console.log(`${call.servicePath}.${call.serviceMethod} failed: ${error}`);
 *   },
 * };
 * const client = new Client("tcp@127.0.0.1:8972", { plugins: [requestIds] });
 * await client.close();
 * ```
 */
export interface ClientPlugin {
  /** A name for logs. */
  readonly name?: string;
  /**
   * Before a call, oneway send or XClient `sendRaw` (its payload as `args`; not `Client.sendRaw`,
   * as in Go) is encoded (for an XClient: before each try, on the server chosen). May change
   * `call.metadata`. Throw (or reject) to fail the call with that error:
   * nothing is sent, later plugins' `preCall` do not run, and `postCall` runs only for the
   * plugins whose `preCall` returned (so they can close what they opened). Go: `PreCall`.
   */
  preCall?(call: ClientCall): void | Promise<void>;
  /**
   * After a call ended: `reply` when it succeeded (undefined for oneway), else `error`. Plugins
   * run in reverse order. A throw is reported; the call's result stands. Go: `PostCall`.
   */
  postCall?(call: ClientCall, reply: unknown, error: unknown): void;
  /**
   * A connection was dialed, before it is used. Throw to refuse it: it is closed and the dial
   * fails with a `ConnectionError` whose cause is the thrown error. Go: `ConnCreated`.
   */
  connCreated?(conn: ClientConnInfo): void;
  /** A dial failed with `error`. A throw is reported. Go: `ConnCreateFailed`. */
  connCreateFailed?(address: string, error: unknown): void;
  /**
   * A connection is ready for calls (after every `connCreated` accepted it). A throw is
   * reported. Go: `ClientConnected`.
   */
  clientConnected?(conn: ClientConnInfo): void;
  /** A connection closed (by either side). A throw is reported. Go: `ClientConnectionClose`. */
  connClose?(conn: ClientConnInfo): void;
  /**
   * A request (calls, oneway sends, `sendRaw`, heartbeats) is about to be encoded; may change
   * it. A throw is reported and the request is sent anyway, as in Go. Go: `ClientBeforeEncode`.
   */
  beforeEncode?(req: Message): void;
  /**
   * A response was decoded, before it is matched to its call; may change it. A throw is
   * reported and the response is delivered anyway, as in Go. Go: `ClientAfterDecode`.
   */
  afterDecode?(res: Message): void;
  /**
   * Wraps an XClient's node selection: return a function that calls `next` (or not) and may
   * skip or replace the key it returns. Plugins wrap in order, so the last plugin's function
   * runs first. A throw fails the call with that error. Go: `SelectNodePlugin.WrapSelect`.
   */
  wrapSelect?(next: SelectFunc): SelectFunc;
}
