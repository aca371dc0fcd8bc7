/**
 * Internal: the plugins of one client, grouped per hook, running each hook with the policy
 * {@linkcode ClientPlugin} documents (the server's equivalent is `server/_plugin_chain.ts`).
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import { logger } from "../log/logger.ts";
import type { ClientCall, ClientConnInfo, ClientPlugin, SelectFunc } from "./plugin.ts";

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
    each(this.plugins, "connCreateFailed", (p) => p.connCreateFailed?.(address, error));
  }

  /** Runs every `clientConnected`; throws are reported. */
  clientConnected(conn: ClientConnInfo): void {
    each(this.plugins, "clientConnected", (p) => p.clientConnected?.(conn));
  }

  /** Runs every `connClose`; throws are reported. */
  connClose(conn: ClientConnInfo): void {
    each(this.plugins, "connClose", (p) => p.connClose?.(conn));
  }

  /** Runs every `beforeEncode`; throws are reported. */
  beforeEncode(req: Message): void {
    each(this.#encode, "beforeEncode", (p) => p.beforeEncode!(req));
  }

  /** Runs every `afterDecode`; throws are reported. */
  afterDecode(res: Message): void {
    each(this.#decode, "afterDecode", (p) => p.afterDecode!(res));
  }

  /** `select` wrapped by every `wrapSelect`, in order (the last plugin's wrapper runs first). */
  wrapSelect(select: SelectFunc): SelectFunc {
    let fn = select;
    for (const p of this.plugins) if (p.wrapSelect) fn = p.wrapSelect(fn);
    return fn;
  }
}

/** Runs `run` on each of `plugins`; a throw is reported (as `hook`), not passed on. */
function each(
  plugins: readonly ClientPlugin[],
  hook: string,
  run: (p: ClientPlugin) => void,
): void {
  for (const p of plugins) {
    try {
      run(p);
    } catch (e) {
      report(p, hook, e);
    }
  }
}

function report(p: ClientPlugin, hook: string, e: unknown): void {
  logger().warn("rpcx client: plugin hook failed", {
    plugin: pluginName(p),
    hook,
    error: e instanceof Error ? e.message : String(e),
  });
}
