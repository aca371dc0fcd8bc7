/**
 * What a server listens on: a listener per `serve` on a network of the transport layer (its
 * accept loop hands connections over), or a name in the in-process registry (kept told of the
 * services); closing them all, once, so their addresses are free again.
 *
 * @module
 */
import type { Message } from "../protocol/message.ts";
import {
  INPROCESS_NETWORK,
  type InprocessRegistry,
  type InprocessSession,
} from "../transport/inprocess.ts";
import type { Connection, Listener, NetworkRegistry, TlsOptions } from "../transport/network.ts";
import type { ServeOptions } from "./options.ts";
import type { ErrorReporter } from "./_plugin_chain.ts";

interface Listening {
  network: string;
  address: string;
  reusePort?: boolean;
  listener?: Listener;
  inprocessName?: string;
}

/** A service as the in-process registry lists it. */
interface Listed {
  readonly name: string;
  readonly metadata: string;
}

/** What the listeners need from their server. */
export interface ListenersOptions {
  readonly networks: NetworkRegistry;
  /** The server's TLS options (a `serve` may give its own). */
  readonly tls: TlsOptions | undefined;
  /** TCP keep-alive period of accepted connections, ms (undefined: the system's; 0: off). */
  readonly keepAlive: number | undefined;
  /** The server's read timeout (ms, 0: none): a TLS handshake gets that long by default. */
  readonly readTimeout: number;
  readonly inprocess: InprocessRegistry;
  /** The services registered now. */
  readonly services: () => Iterable<Listed>;
  /** Takes a connection a listener at `localAddress` accepted. */
  readonly accept: (conn: Connection, localAddress: string) => void;
  /** Opens the server side of an in-process session. */
  readonly openInprocess: (
    clientName: string,
    deliver: (msg: Message) => void,
    closed: () => void,
  ) => InprocessSession;
  /** Whether new connections are taken (false once the server shuts down: they are closed). */
  readonly accepting: () => boolean;
  readonly report: ErrorReporter;
}

/** The listeners of one server, in the order `serve` opened them. */
export class Listeners {
  readonly #list: Listening[] = [];
  readonly #o: ListenersOptions;

  /** Listening on nothing yet. */
  constructor(options: ListenersOptions) {
    this.#o = options;
  }

  /**
   * Listens on `address` of `network` (or serves the in-process name `address`) and starts
   * taking connections; resolves with the bound address. Rejects as the network's `listen` does
   * (`ListenError`, `UnsupportedNetworkError`).
   */
  async listen(network: string, address: string, options: ServeOptions): Promise<string> {
    const o = this.#o;
    if (network === INPROCESS_NETWORK) {
      o.inprocess.addServer(address, { open: o.openInprocess });
      for (const s of o.services()) o.inprocess.registerService(address, s.name, s.metadata);
      this.#list.push({ network, address, inprocessName: address });
      return address;
    }
    const tls = options.tls ?? o.tls;
    // Go sets the read deadline before the TLS handshake: a peer gets readTimeout to finish it.
    const handshakeTimeout = options.handshakeTimeout ??
      (o.readTimeout > 0 ? o.readTimeout : undefined);
    const listener = await o.networks.get(network).listen(address, {
      keepAlive: o.keepAlive,
      ...options,
      tls,
      handshakeTimeout,
    });
    this.#list.push({
      network,
      address: listener.address,
      listener,
      reusePort: options.reusePort === true,
    });
    void this.#acceptLoop(listener);
    return listener.address;
  }

  async #acceptLoop(listener: Listener): Promise<void> {
    for await (const conn of listener) {
      if (!this.#o.accepting()) {
        conn.close();
        continue;
      }
      this.#o.accept(conn, listener.address);
    }
  }

  /** Closes the listener `listen` opened last (a `serve` undone). */
  async undoLast(): Promise<void> {
    const l = this.#list.pop();
    await l?.listener?.close();
    if (l?.inprocessName) this.#o.inprocess.removeServer(l.inprocessName);
  }

  /** What is listened on (`network@address`) and whether with `reusePort`; in-process names left out. */
  get served(): { address: string; reusePort: boolean }[] {
    return this.#list.filter((l) => l.listener).map((l) => ({
      address: `${l.network}@${l.address}`,
      reusePort: l.reusePort === true,
    }));
  }

  /** A service was registered or changed: the in-process names list it. */
  serviceAdded(name: string, metadata: string): void {
    for (const l of this.#list) {
      if (l.inprocessName) this.#o.inprocess.registerService(l.inprocessName, name, metadata);
    }
  }

  /** A service was withdrawn: the in-process names drop it. */
  serviceRemoved(name: string): void {
    for (const l of this.#list) {
      if (l.inprocessName) this.#o.inprocess.unregisterService(l.inprocessName, name);
    }
  }

  /**
   * Closes the listeners and leaves the in-process registry (idempotent); resolves once every
   * listened address is free again. Errors are reported.
   */
  stop(): Promise<void> {
    const released: (void | Promise<void>)[] = [];
    for (const l of this.#list) {
      try {
        released.push(l.listener?.close());
      } catch (e) {
        this.#o.report(`close listener ${l.network}@${l.address}`, e);
      }
      if (l.inprocessName) this.#o.inprocess.removeServer(l.inprocessName);
    }
    return Promise.all(released).then(() => {}, (e) => this.#o.report("close listener", e));
  }
}
