/**
 * Internal to the client: its one connection — dialed on first use and again after it ends, the
 * client plugins' connection hooks around the dial, heartbeats while it is open, and its closing
 * once idle (`idleTimeout`).
 *
 * @module
 */
import { ClientClosedError, ConnectionClosedError, ConnectionError } from "./errors.ts";
import type { ClientPluginChain } from "./_plugin_chain.ts";
import type { Bounded, Transport } from "./_calls.ts";
import { type Dialed, dialNetwork, type OnClosed, type OnMessage } from "./_dial.ts";
import type { CallOptions, ClientOptions } from "./options.ts";
import { logger } from "../log/logger.ts";
import { runtime } from "../runtime/mod.ts";

/** What the connection tells its client, and asks of it. */
export interface LinkOwner {
  /** Each message the server sends. */
  readonly onMessage: OnMessage;
  /** The open connection ended: `error` fails the calls waiting on it. */
  lost(error: ConnectionClosedError): void;
  /** Whether the client is closed: nothing is dialed any more. */
  closed(): boolean;
  /** Sends a heartbeat (`Client.heartbeat`). */
  heartbeat(options: CallOptions): Promise<unknown>;
  /** Whether calls wait for a reply (the connection is not idle then). */
  busy(): boolean;
}

/** The error of a call on a closed client. */
export function closedError(address: string): ClientClosedError {
  return new ClientClosedError(`rpcx: client of ${address} is shut down`);
}

/** The connection of the client of `address`, opened on demand. */
export class Link {
  #transport: Transport | undefined;
  /** The address of the server at the other end of the connection (Go's `RemoteAddr()`). */
  server = "";
  #connecting: Promise<Transport> | undefined;
  /** Fails the calls waiting for `#connecting` (on `close()`). */
  #failConnecting: ((error: unknown) => void) | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  /**
   * When the connection was last used (`performance.now()` ms: a message sent or received),
   * kept by the client when `idleTimeout` is set.
   */
  lastUse = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** The connection's end (made once per client). */
  readonly #onEnd: OnClosed = (transport, cause) => this.#onClosed(transport, cause);

  /** `network@target` is `address`; `options` and `plugins` are the client's. */
  constructor(
    readonly address: string,
    readonly network: string,
    readonly target: string,
    readonly options: ClientOptions & Bounded,
    readonly plugins: ClientPluginChain | undefined,
    readonly owner: LinkOwner,
  ) {}

  /** The connection, if one was opened and has not ended (it may be closing). */
  get transport(): Transport | undefined {
    return this.#transport;
  }

  /** The open connection, dialed when there is none (one dial for the calls waiting). */
  ensure(): Promise<Transport> {
    if (this.owner.closed()) return Promise.reject(closedError(this.address));
    const t = this.#transport;
    if (t && !t.isClosed) return Promise.resolve(t);
    // The calls waiting for the connection fail at once on close(), not when the dial ends
    // (up to connectTimeout later); the dial itself closes what it opens after close().
    this.#connecting ??= new Promise<Transport>((resolve, reject) => {
      this.#failConnecting = reject;
      this.#dial().then(resolve, reject);
    }).finally(() => {
      this.#connecting = undefined;
      this.#failConnecting = undefined;
    });
    return this.#connecting;
  }

  async #dial(): Promise<Transport> {
    const plugins = this.plugins;
    let dialed: Dialed;
    try {
      dialed = await dialNetwork(
        this.network,
        this.target,
        this.address,
        this.options,
        this.owner.onMessage,
        this.#onEnd,
      );
    } catch (e) {
      plugins?.connCreateFailed(this.address, e);
      throw e;
    }
    const transport = dialed.transport;
    if (this.owner.closed()) {
      transport.close();
      throw closedError(this.address);
    }
    if (plugins) {
      try {
        plugins.connCreated({ address: this.address });
      } catch (e) {
        transport.close();
        plugins.connCreateFailed(this.address, e);
        throw new ConnectionError(`dial ${this.address}: refused by a client plugin: ${e}`, {
          cause: e,
        });
      }
    }
    this.#transport = transport;
    this.server = dialed.server;
    if (this.options.heartbeat) this.#startHeartbeat(transport);
    const idle = this.options.idleTimeout ?? 0;
    if (idle > 0) this.#watchIdle(transport, idle);
    plugins?.clientConnected({ address: this.address });
    return transport;
  }

  #onClosed(transport: Transport, cause?: unknown): void {
    if (this.#transport !== transport) return;
    this.#transport = undefined;
    this.#stopHeartbeat();
    this.#stopIdle();
    this.plugins?.connClose({ address: this.address });
    const err = cause === undefined
      ? new ConnectionClosedError(`connection to ${this.address} is shut down`)
      : new ConnectionClosedError(
        `connection to ${this.address} is shut down: ${(cause as Error).message ?? cause}`,
        { cause },
      );
    this.owner.lost(err);
  }

  #startHeartbeat(transport: Transport): void {
    this.#stopHeartbeat();
    const every = this.options.heartbeatInterval ?? 10_000;
    const maxWait = this.options.maxWaitForHeartbeat ?? 30_000;
    this.#heartbeatTimer = setInterval(() => {
      if (transport.isClosed) return this.#stopHeartbeat();
      // parent: null — the timer runs in the async context of the call that dialed.
      this.owner.heartbeat({ timeout: maxWait, parent: null }).catch(() => {
        if (this.#transport === transport) transport.close();
      });
    }, every);
  }

  /**
   * Go's `Option.IdleTimeout`: closes `transport` once nothing was sent or received on it for
   * `idle` ms while no call waits for a reply. One timer, re-armed for when that can be.
   */
  #watchIdle(transport: Transport, idle: number): void {
    this.lastUse = performance.now();
    const check = () => {
      this.#idleTimer = undefined;
      if (this.#transport !== transport || transport.isClosed) return;
      const quiet = performance.now() - this.lastUse;
      if (!this.owner.busy() && quiet >= idle) {
        logger().debug("rpcx client: closing an idle connection", {
          address: this.address,
          idleTimeout: idle,
        });
        transport.close(); // the next call dials again
        return;
      }
      this.#idleTimer = setTimeout(check, quiet >= idle ? idle : idle - quiet);
      runtime().timers.unref(this.#idleTimer);
    };
    this.#idleTimer = setTimeout(check, idle);
    runtime().timers.unref(this.#idleTimer);
  }

  #stopIdle(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #stopHeartbeat(): void {
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
  }

  /**
   * The client closes: heartbeats stop, and the calls waiting for the connection to open fail
   * with `error` at once (the dial under way closes what it opens).
   */
  stop(error: unknown): void {
    this.#stopHeartbeat();
    this.#stopIdle();
    this.#failConnecting?.(error);
  }

  /** Closes the connection (its end fails the calls still waiting on it). */
  close(): void {
    this.#transport?.close();
  }
}
