/**
 * The in-process registry: a table in this process of which server offers which service, kept by
 * the {@linkcode InprocessRegisterPlugin} of each server (a registry plugin like etcd's) and
 * followed by {@linkcode InprocessDiscovery}. It lists addresses of any network; servers listed
 * with `inprocess@name` are called over the `inprocess` network, without sockets.
 *
 * @module
 */
import { BaseDiscovery, type KVPair, type ServiceDiscovery } from "./discovery.ts";
import type { RegisterPlugin, RegistryStartContext } from "../server/plugin.ts";
import { RpcxError } from "../protocol/errors.ts";

/**
 * Which servers (`network@address`) offer which service, with their metadata strings, in this
 * process. It fires `"change"` on every change. Most programs use
 * {@linkcode defaultInprocessRegistry}; tests may make their own to stay isolated.
 *
 * @example
 * ```ts
 * import { InprocessRegistry } from "@rpcx/core";
 * const registry = new InprocessRegistry();
 * registry.register("Arith", "inprocess@arith-1", "weight=2");
 * console.log(registry.list("Arith")); // [{ key: "inprocess@arith-1", value: "weight=2" }]
 * ```
 */
export class InprocessRegistry extends EventTarget {
  /** servicePath → server address → metadata. */
  readonly #services = new Map<string, Map<string, string>>();

  /** Lists `servicePath` at `serviceAddress` (`network@address`) with `metadata`. */
  register(servicePath: string, serviceAddress: string, metadata: string): void {
    let servers = this.#services.get(servicePath);
    if (!servers) this.#services.set(servicePath, servers = new Map());
    if (servers.get(serviceAddress) === metadata) return;
    servers.set(serviceAddress, metadata);
    this.dispatchEvent(new Event("change"));
  }

  /** Withdraws `servicePath` at `serviceAddress`. */
  unregister(servicePath: string, serviceAddress: string): void {
    const servers = this.#services.get(servicePath);
    if (!servers?.delete(serviceAddress)) return;
    if (servers.size === 0) this.#services.delete(servicePath);
    this.dispatchEvent(new Event("change"));
  }

  /** The servers offering `servicePath`, as `{key: "network@address", value: metadata}`. */
  list(servicePath: string): KVPair[] {
    const servers = this.#services.get(servicePath);
    return servers ? Array.from(servers, ([key, value]) => ({ key, value })) : [];
  }
}

/**
 * The process-wide in-process registry: the default of {@linkcode InprocessRegisterPlugin} and
 * {@linkcode InprocessDiscovery}.
 *
 * @example
 * ```ts
 * import { defaultInprocessRegistry } from "@rpcx/core/extend";
 * console.log(defaultInprocessRegistry.list("Nothing").length); // 0
 * ```
 */
export const defaultInprocessRegistry: InprocessRegistry = new InprocessRegistry();

/**
 * Options of {@linkcode InprocessRegisterPlugin}.
 *
 * @example
 * ```ts
 * import { InprocessRegistry, type InprocessRegisterPluginOptions } from "@rpcx/core";
 * const o: InprocessRegisterPluginOptions = { registry: new InprocessRegistry() };
 * console.log(o.serviceAddress); // undefined: the address the server listens on first
 * ```
 */
export interface InprocessRegisterPluginOptions {
  /** The registry to list the services in (default {@linkcode defaultInprocessRegistry}). */
  registry?: InprocessRegistry;
  /**
   * The address listed (`network@address`); default the server's first `serve`
   * (`inprocess@name` after `serve("inprocess", name)`).
   */
  serviceAddress?: string;
}

/**
 * The in-process registry's server plugin: lists the server's services in an
 * {@linkcode InprocessRegistry} once it serves, follows `register`/`unregister`, and withdraws
 * them all on shutdown or close, like the registry plugins of etcd or ZooKeeper. One plugin per
 * server. `register` throws `RpcxError` before the server serves (no address known yet).
 *
 * @example
 * ```ts
 * import {
 *   FailMode, InprocessDiscovery, InprocessRegisterPlugin, SelectMode, Server, XClient,
 * } from "@rpcx/core";
 * const server = new Server({ plugins: [new InprocessRegisterPlugin()] });
 * await server.register({ Hello: (name: string) => `hi ${name}` }, "Greeter");
 * await server.serve("inprocess", "greeter-plugin-doc");
 * const client = new XClient("Greeter", FailMode.Failfast, SelectMode.RandomSelect,
 *   new InprocessDiscovery("Greeter"));
 * console.log(await client.call("Hello", "deno")); // "hi deno"
 * await client.close();
 * await server.close();
 * ```
 */
export class InprocessRegisterPlugin implements RegisterPlugin {
  /** A name for logs. */
  readonly name = "inprocess-registry";
  /** The registry written. */
  readonly registry: InprocessRegistry;
  #serviceAddress: string | undefined;
  readonly #listed = new Set<string>();

  /** A plugin for `options.registry` (default the process-wide one). */
  constructor(options: InprocessRegisterPluginOptions = {}) {
    this.registry = options.registry ?? defaultInprocessRegistry;
    this.#serviceAddress = options.serviceAddress;
  }

  /** The listed address, once known (given, or taken at `start`). */
  get serviceAddress(): string | undefined {
    return this.#serviceAddress;
  }

  /** Takes the server's address (unless one was given). */
  start(ctx: RegistryStartContext): void {
    this.#serviceAddress ??= ctx.serviceAddress;
  }

  /** Lists `name` with `metadata` at the server's address. */
  register(name: string, _service: unknown, metadata: string): void {
    const at = this.#serviceAddress;
    if (at === undefined) {
      throw new RpcxError(`${this.name}: register ${name} before the server serves`);
    }
    this.registry.register(name, at, metadata);
    this.#listed.add(name);
  }

  /** Withdraws `name`. */
  unregister(name: string): void {
    if (!this.#listed.delete(name) || this.#serviceAddress === undefined) return;
    this.registry.unregister(name, this.#serviceAddress);
  }

  /** Withdraws every service it listed. */
  stop(): void {
    for (const name of [...this.#listed]) this.unregister(name);
  }
}

/**
 * Discovers the servers of one service in an {@linkcode InprocessRegistry} and follows them as
 * they come and go (servers list themselves there with {@linkcode InprocessRegisterPlugin}).
 *
 * @example
 * ```ts
 * import {
 *   FailMode, InprocessDiscovery, InprocessRegisterPlugin, SelectMode, Server, XClient,
 * } from "@rpcx/core";
 * const server = new Server({ plugins: [new InprocessRegisterPlugin()] });
 * await server.register({ Hello: (name: string) => `hi ${name}` }, "Greeter");
 * await server.serve("inprocess", "greeter-1");
 * const client = new XClient("Greeter", FailMode.Failfast, SelectMode.RandomSelect,
 *   new InprocessDiscovery("Greeter"));
 * console.log(await client.call("Hello", "deno")); // "hi deno"
 * await client.close();
 * await server.close();
 * ```
 */
export class InprocessDiscovery extends BaseDiscovery {
  /** The service followed. */
  readonly servicePath: string;
  /** The registry read. */
  readonly registry: InprocessRegistry;
  readonly #onChange = () => this.publish(this.registry.list(this.servicePath));

  /** Follows `servicePath` in `registry` (default: the process-wide one). */
  constructor(servicePath: string, registry: InprocessRegistry = defaultInprocessRegistry) {
    super();
    this.servicePath = servicePath;
    this.registry = registry;
    registry.addEventListener("change", this.#onChange);
    this.#onChange();
  }

  /** The same registry, another service. */
  clone(servicePath: string): ServiceDiscovery {
    return new InprocessDiscovery(servicePath, this.registry);
  }

  /** Stops following the registry. */
  override close(): Promise<void> {
    this.registry.removeEventListener("change", this.#onChange);
    return super.close();
  }
}
