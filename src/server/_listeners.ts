/**
 * What a server listens on: a listener per `serve` on a network of the transport layer (its
 * accept loop hands connections over); closing them all, once, so their addresses are free again.
 *
 * @module
 */
import type { Connection, Listener, NetworkRegistry, TlsOptions } from "../transport/network.ts";
import { PipeNetwork } from "../transport/pipe.ts";
import type { ServeOptions } from "./options.ts";
import type { ErrorReporter } from "./_plugin_chain.ts";
import { inheritedListener } from "./restart.ts";

interface Listening {
  network: string;
  /** As given to `serve`. */
  requested: string;
  /** As bound. */
  address: string;
  reusePort: boolean;
  /** On an in-memory network (a `PipeNetwork`, `inprocess`): a name of this process alone. */
  local: boolean;
  listener: Listener;
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
  /** Takes a connection a listener at `localAddress` accepted. */
  readonly accept: (conn: Connection, localAddress: string) => void;
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
   * Listens on `address` of `network` and starts taking connections; resolves with the bound
   * address. Rejects as the network's `listen` does (`ListenError`, `UnsupportedNetworkError`).
   */
  async listen(network: string, address: string, options: ServeOptions): Promise<string> {
    const o = this.#o;
    const tls = options.tls ?? o.tls;
    // Go sets the read deadline before the TLS handshake: a peer gets readTimeout to finish it.
    const handshakeTimeout = options.handshakeTimeout ??
      (o.readTimeout > 0 ? o.readTimeout : undefined);
    const net = o.networks.get(network);
    // A graceful restart's new process takes the socket its parent handed over (Server.restart).
    const fd = inheritedListener(network, address);
    const listener = await net.listen(address, {
      keepAlive: o.keepAlive,
      ...options,
      tls,
      handshakeTimeout,
      ...(fd !== undefined ? { fd } : {}),
      // A tcp port listens with node:net on Deno unless told otherwise: Deno's own sockets
      // serve a saturated port's connections unfairly (adapter/deno/sockets.ts).
      nodeSockets: options.nodeSockets ?? network === "tcp",
    });
    this.#list.push({
      network,
      requested: address,
      address: listener.address,
      listener,
      reusePort: options.reusePort === true,
      local: net instanceof PipeNetwork,
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
    await l?.listener.close();
  }

  /**
   * What is listened on (`network@address` as bound, and as given to `serve`: a new process
   * running the same program serves that again) and whether with `reusePort`, for `restart` to
   * hand over; names on an in-memory network are left out (they are this process's own: a new
   * process has its own namespace, nothing to take over).
   */
  get served(): { address: string; requested: string; reusePort: boolean; fd?: number }[] {
    return this.#list.filter((l) => !l.local).map((l) => ({
      address: `${l.network}@${l.address}`,
      requested: `${l.network}@${l.requested}`,
      reusePort: l.reusePort,
      fd: l.listener.fd,
    }));
  }

  /**
   * Closes the listeners (idempotent); resolves once every listened address is free again.
   * Errors are reported.
   */
  stop(): Promise<void> {
    const released: (void | Promise<void>)[] = [];
    for (const l of this.#list) {
      try {
        released.push(l.listener.close());
      } catch (e) {
        this.#o.report(`close listener ${l.network}@${l.address}`, e);
      }
    }
    return Promise.all(released).then(() => {}, (e) => this.#o.report("close listener", e));
  }
}
