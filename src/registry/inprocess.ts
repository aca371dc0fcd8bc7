/**
 * The in-process registry: servers in this process that `serve("inprocess", name)` are listed
 * here, and an XClient with an {@linkcode InprocessDiscovery} calls them without sockets.
 * Messages still go through the codecs, so behaviour matches the network path.
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import { BaseDiscovery, type KVPair, type ServiceDiscovery } from "./discovery.ts";

/** The network name of in-process addresses (`inprocess@name`). */
export const INPROCESS_NETWORK = "inprocess";

/** The server side of an in-process connection. */
export interface InprocessSession {
  /** Delivers a request to the server. */
  send(msg: Message): void;
  /** Closes the session (the server forgets it). */
  close(): void;
}

/** What a server offers the in-process registry: a way to open sessions. */
export interface InprocessEndpoint {
  /**
   * Opens a session for a client named `clientName`; the server calls `deliver` with each
   * response and `closed` when it drops the session.
   */
  open(clientName: string, deliver: (msg: Message) => void, closed: () => void): InprocessSession;
}

interface Entry {
  endpoint: InprocessEndpoint;
  services: Map<string, string>;
}

/**
 * A set of in-process servers by name. Most programs use {@linkcode defaultInprocessRegistry};
 * tests may create their own to stay isolated.
 *
 * @example
 * ```ts
 * import { InprocessRegistry } from "@rpcx/core";
 * const registry = new InprocessRegistry();
 * console.log(registry.list("Arith")); // []
 * ```
 */
export class InprocessRegistry extends EventTarget {
  readonly #servers = new Map<string, Entry>();

  /** Adds a server endpoint under `name`; throws if the name is taken. */
  addServer(name: string, endpoint: InprocessEndpoint): void {
    if (this.#servers.has(name)) throw new Error(`in-process server ${name} already exists`);
    this.#servers.set(name, { endpoint, services: new Map() });
    this.dispatchEvent(new Event("change"));
  }

  /** Removes a server. */
  removeServer(name: string): void {
    if (this.#servers.delete(name)) this.dispatchEvent(new Event("change"));
  }

  /** Advertises a service of server `name` with its metadata string. */
  registerService(name: string, servicePath: string, metadata: string): void {
    const e = this.#servers.get(name);
    if (!e) throw new Error(`in-process server ${name} does not exist`);
    e.services.set(servicePath, metadata);
    this.dispatchEvent(new Event("change"));
  }

  /** Withdraws a service of server `name`. */
  unregisterService(name: string, servicePath: string): void {
    const e = this.#servers.get(name);
    if (e?.services.delete(servicePath)) this.dispatchEvent(new Event("change"));
  }

  /** The servers offering `servicePath`, as `{key: "inprocess@name", value: metadata}`. */
  list(servicePath: string): KVPair[] {
    const out: KVPair[] = [];
    for (const [name, e] of this.#servers) {
      const meta = e.services.get(servicePath);
      if (meta !== undefined) out.push({ key: `${INPROCESS_NETWORK}@${name}`, value: meta });
    }
    return out;
  }

  /** The endpoint of server `name`, if it is serving. */
  endpoint(name: string): InprocessEndpoint | undefined {
    return this.#servers.get(name)?.endpoint;
  }
}

/**
 * The process-wide in-process registry: the embedded default.
 *
 * @example
 * ```ts
 * import { defaultInprocessRegistry } from "@rpcx/core";
 * console.log(defaultInprocessRegistry.list("Nothing").length); // 0
 * ```
 */
export const defaultInprocessRegistry: InprocessRegistry = new InprocessRegistry();

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
