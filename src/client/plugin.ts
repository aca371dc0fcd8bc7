/**
 * Client plugins: typed hooks around calls, connections, encoding and node selection, as Go
 * rpcx's client `PluginContainer`, run in the order they were given.
 *
 * @module
 */
import type { Message, Metadata } from "../protocol/message.ts";
import { logger } from "../log/logger.ts";

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

function pluginName(p: ClientPlugin): string {
  return p.name ?? "unnamed";
}

/**
 * The plugins of one client, grouped per hook so that a client without plugins pays one
 * `undefined` check per hook point. Built by the client from `ClientOptions.plugins`.
 */
export class ClientPluginChain {
  /** All plugins, in order. */
  readonly plugins: readonly ClientPlugin[];
  readonly #pre: ClientPlugin[];
  readonly #post: ClientPlugin[];
  readonly #encode: ClientPlugin[];
  readonly #decode: ClientPlugin[];

  private constructor(plugins: readonly ClientPlugin[]) {
    this.plugins = plugins;
    this.#pre = plugins.filter((p) => p.preCall);
    this.#post = plugins.filter((p) => p.postCall);
    this.#encode = plugins.filter((p) => p.beforeEncode);
    this.#decode = plugins.filter((p) => p.afterDecode);
  }

  /** A chain of `plugins`, or undefined when there are none (the fast path). */
  static of(plugins: readonly ClientPlugin[] | undefined): ClientPluginChain | undefined {
    return plugins && plugins.length > 0 ? new ClientPluginChain([...plugins]) : undefined;
  }

  /** Whether any plugin has `preCall` or `postCall`. */
  get wrapsCalls(): boolean {
    return this.#pre.length > 0 || this.#post.length > 0;
  }

  /** Whether any plugin has `beforeEncode`. */
  get hasBeforeEncode(): boolean {
    return this.#encode.length > 0;
  }

  /** Whether any plugin has `afterDecode`. */
  get hasAfterDecode(): boolean {
    return this.#decode.length > 0;
  }

  /**
   * Runs `call` between the `preCall` and `postCall` hooks, with the policies documented on
   * {@linkcode ClientPlugin}. Resolves or rejects as the call (or a throwing `preCall`) does.
   */
  async around<T>(call: ClientCall, run: () => Promise<T>): Promise<T> {
    const pre = this.#pre;
    let ran = 0;
    let reply: T | undefined;
    let error: unknown;
    let failed = false;
    try {
      for (; ran < pre.length; ran++) {
        const r = pre[ran].preCall!(call);
        if (r !== undefined) await r;
      }
      reply = await run();
    } catch (e) {
      failed = true;
      error = e;
    }
    const post = this.#post;
    for (let i = post.length - 1; i >= 0; i--) {
      const p = post[i];
      // A plugin whose preCall threw or never ran is not told of the call.
      if (ran < pre.length && p.preCall && pre.indexOf(p) >= ran) continue;
      try {
        p.postCall!(call, reply, error);
      } catch (e) {
        report(p, "postCall", e);
      }
    }
    if (failed) throw error;
    return reply as T;
  }

  /** Runs every `connCreated`; the first throw propagates (the caller refuses the connection). */
  connCreated(conn: ClientConnInfo): void {
    for (const p of this.plugins) p.connCreated?.(conn);
  }

  /** Runs every `connCreateFailed`; throws are reported. */
  connCreateFailed(address: string, error: unknown): void {
    for (const p of this.plugins) {
      if (!p.connCreateFailed) continue;
      try {
        p.connCreateFailed(address, error);
      } catch (e) {
        report(p, "connCreateFailed", e);
      }
    }
  }

  /** Runs every `clientConnected`; throws are reported. */
  clientConnected(conn: ClientConnInfo): void {
    for (const p of this.plugins) {
      if (!p.clientConnected) continue;
      try {
        p.clientConnected(conn);
      } catch (e) {
        report(p, "clientConnected", e);
      }
    }
  }

  /** Runs every `connClose`; throws are reported. */
  connClose(conn: ClientConnInfo): void {
    for (const p of this.plugins) {
      if (!p.connClose) continue;
      try {
        p.connClose(conn);
      } catch (e) {
        report(p, "connClose", e);
      }
    }
  }

  /** Runs every `beforeEncode`; throws are reported. */
  beforeEncode(req: Message): void {
    for (const p of this.#encode) {
      try {
        p.beforeEncode!(req);
      } catch (e) {
        report(p, "beforeEncode", e);
      }
    }
  }

  /** Runs every `afterDecode`; throws are reported. */
  afterDecode(res: Message): void {
    for (const p of this.#decode) {
      try {
        p.afterDecode!(res);
      } catch (e) {
        report(p, "afterDecode", e);
      }
    }
  }

  /** `select` wrapped by every `wrapSelect`, in order (the last plugin's wrapper runs first). */
  wrapSelect(select: SelectFunc): SelectFunc {
    let fn = select;
    for (const p of this.plugins) if (p.wrapSelect) fn = p.wrapSelect(fn);
    return fn;
  }
}

function report(p: ClientPlugin, hook: string, e: unknown): void {
  logger().warn("rpcx client: plugin hook failed", {
    plugin: pluginName(p),
    hook,
    error: e instanceof Error ? e.message : String(e),
  });
}
