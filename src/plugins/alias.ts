/**
 * Aliases: serve `service.method` under other names too. Go: `serverplugin.NewAliasPlugin`.
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { AliasPlugin } from "@rpcx/core/plugins/alias";
 * const aliases = new AliasPlugin();
 * aliases.alias("Calc", "Times", "Arith", "Mul"); // Calc.Times runs Arith.Mul
 * new Server().use(aliases);
 * ```
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import type { ServerPlugin } from "../server/plugin.ts";

/** Request metadata key set on a request whose name was an alias (Go's `__aliasAppliedKey`). */
export const ALIAS_APPLIED_KEY = "__aliasAppliedKey";

interface Target {
  readonly servicePath: string;
  readonly serviceMethod: string;
}

/**
 * Maps alias names to real `service.method` names. A request for an alias is renamed as soon as
 * it is read (so every later hook and the method see the real name; its metadata gets
 * `__aliasAppliedKey=true`), and the response goes back under the alias name the caller used.
 * Go: `serverplugin.AliasPlugin` (`PostReadRequest`, `PreWriteResponse`).
 *
 * @example
 * ```ts
 * import { Server } from "@rpcx/core";
 * import { AliasPlugin } from "@rpcx/core/plugins/alias";
 * const server = new Server();
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * server.use(new AliasPlugin().alias("Arith", "Times", "Arith", "Mul"));
 * ```
 */
export class AliasPlugin implements ServerPlugin {
  /** For logs. */
  readonly name = "alias";
  readonly #aliases = new Map<string, Target>();
  /** Requests renamed, with the name they came under. */
  readonly #renamed = new WeakMap<Message, Target>();

  /**
   * Serves `servicePath.serviceMethod` also as `aliasServicePath.aliasServiceMethod`; returns
   * this plugin (to chain). Go: `AliasPlugin.Alias`.
   */
  alias(
    aliasServicePath: string,
    aliasServiceMethod: string,
    servicePath: string,
    serviceMethod: string,
  ): this {
    this.#aliases.set(`${aliasServicePath}.${aliasServiceMethod}`, { servicePath, serviceMethod });
    return this;
  }

  /** Renames a request that came under an alias. */
  postReadRequest(req: Message): void {
    if (this.#aliases.size === 0) return;
    const target = this.#aliases.get(`${req.servicePath}.${req.serviceMethod}`);
    if (!target) return;
    this.#renamed.set(req, { servicePath: req.servicePath, serviceMethod: req.serviceMethod });
    req.servicePath = target.servicePath;
    req.serviceMethod = target.serviceMethod;
    req.metadata[ALIAS_APPLIED_KEY] = "true";
  }

  /** Puts the alias name back on the response (and the request). */
  preWriteResponse(req: Message, res: Message): void {
    const alias = this.#renamed.get(req);
    if (!alias) return;
    this.#renamed.delete(req);
    delete req.metadata[ALIAS_APPLIED_KEY];
    req.servicePath = res.servicePath = alias.servicePath;
    req.serviceMethod = res.serviceMethod = alias.serviceMethod;
  }
}
