/**
 * The `inprocess` network: servers in this process that `serve("inprocess", name)` are listed in
 * an {@linkcode InprocessRegistry}, and clients dialing `inprocess@name` exchange messages with
 * them without sockets (messages still go through the codecs, so behaviour matches the network
 * path).
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import { ListenError } from "./errors.ts";

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

  /** Adds a server endpoint under `name`; throws `ListenError` ("in-use") if the name is taken. */
  addServer(name: string, endpoint: InprocessEndpoint): void {
    if (this.#servers.has(name)) {
      throw new ListenError(INPROCESS_NETWORK, name, "in-use", "name already in use");
    }
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
  list(servicePath: string): { key: string; value: string }[] {
    const out: { key: string; value: string }[] = [];
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
