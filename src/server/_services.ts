/**
 * The services of one server: registering a class instance's methods or one function (the
 * `beforeRegister` and `afterRegister` hooks around it), withdrawing one, and telling the
 * registry plugins of each change.
 *
 * @module
 */
import type { CallContext } from "./context.ts";
import { collectMethods, type ServiceEntry, type ServiceMethod } from "./service.ts";
import type { PluginChain } from "./_plugin_chain.ts";
import type { RegistryLifecycle } from "./_registries.ts";

type Method = (args: unknown, ctx: CallContext) => unknown;

/**
 * The methods of `all` named in `only` (Go's `RegisterWithMethods` whitelist). Throws TypeError
 * with Go's texts: an empty list, a name `service` has no method of, or one it has that is not
 * callable (`constructor`, a `_` name, not a function).
 */
function whitelist(
  service: object,
  serviceName: string,
  all: Map<string, Method>,
  only: readonly string[],
): Map<string, Method> {
  if (only.length === 0) {
    throw new TypeError(
      "rpcx.Register: empty methods whitelist; use register to register all methods",
    );
  }
  const picked = new Map<string, Method>();
  for (const m of only) {
    const method = all.get(m);
    if (method) {
      picked.set(m, method);
      continue;
    }
    if (m in service) {
      throw new TypeError(
        `rpcx.Register: method "${m}" of ${serviceName} is not a suitable RPC method`,
      );
    }
    throw new TypeError(`rpcx.Register: method "${m}" not found on ${serviceName}`);
  }
  return picked;
}

/** The registered services, by name (what the dispatcher looks calls up in). */
export class ServiceTable {
  /** The services by name. */
  readonly entries: Map<string, ServiceEntry> = new Map();
  readonly #plugins: PluginChain;
  readonly #registries: RegistryLifecycle;

  /** An empty table. */
  constructor(plugins: PluginChain, registries: RegistryLifecycle) {
    this.#plugins = plugins;
    this.#registries = registries;
  }

  /**
   * See `Server.register`; with `only`, `Server.registerWithMethods` (the methods named there
   * alone, each checked as Go's `RegisterWithMethods` does).
   */
  register(service: object, name?: string, metadata = "", only?: readonly string[]): Promise<void> {
    const serviceName = name ?? service.constructor?.name;
    if (!serviceName || serviceName === "Object") {
      throw new TypeError("register: give the service a name (plain objects have no class name)");
    }
    let methods = collectMethods(service);
    if (only) methods = whitelist(service, serviceName, methods, only);
    if (methods.size === 0) throw new TypeError(`register: ${serviceName} has no methods`);
    // Go's register puts a new service in the map: one registered again under the same name is
    // replaced whole (its methods, receiver and metadata), without an error.
    return this.#add(serviceName, methods, service, metadata, true);
  }

  /** See `Server.registerFunction`. */
  registerFunction(
    servicePath: string,
    fn: ServiceMethod,
    metadata: string,
    name: string,
  ): Promise<void> {
    if (!name) throw new TypeError("registerFunction: the function needs a name");
    return this.#add(servicePath, new Map([[name, fn as Method]]), fn, metadata);
  }

  async #add(
    name: string,
    methods: Map<string, Method>,
    receiver: unknown,
    metadata: string,
    replace = false,
  ): Promise<void> {
    this.#plugins.beforeRegister(name, receiver, metadata);
    const existing = this.entries.get(name);
    if (existing && replace) {
      this.entries.set(name, { name, methods, metadata, receiver });
    } else if (existing) {
      // Go's registerFunction adds a function to the service of its path.
      for (const [k, v] of methods) existing.methods.set(k, v);
      existing.metadata = metadata || existing.metadata;
    } else {
      this.entries.set(name, { name, methods, metadata, receiver });
    }
    this.#plugins.afterRegister(name, receiver, metadata);
    // Go's Register tells the registry plugins every time (DoRegister): a service registered again
    // is advertised again, with its new metadata.
    if (!existing || replace) await this.#registries.register(this.entries.get(name)!);
  }

  /** See `Server.unregister`. */
  async unregister(name: string): Promise<void> {
    if (!this.entries.delete(name)) return;
    await this.#registries.unregister(name);
  }
}
