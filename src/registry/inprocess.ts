/**
 * The in-process discovery: follows the servers of one service in an `InprocessRegistry` (the
 * `inprocess` network's table, in `src/transport/inprocess.ts`).
 *
 * @module
 */
import { BaseDiscovery, type ServiceDiscovery } from "./discovery.ts";
import { defaultInprocessRegistry, type InprocessRegistry } from "../transport/inprocess.ts";

/**
 * Discovers the in-process servers of one service and follows them as they come and go.
 *
 * @example
 * ```ts
 * import { InprocessDiscovery, Server, XClient, FailMode, SelectMode } from "@rpcx/core";
 * const server = new Server();
 * server.register({ Hello: (name: string) => `hi ${name}` }, "Greeter");
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
