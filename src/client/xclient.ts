/**
 * XClient: calls a service through a discovery, with select modes, fail modes, retries,
 * broadcast and fork, and per-server health (refused servers are skipped and retried later).
 * This file is the façade: the fail modes are in `_fail_modes.ts`, broadcast and fork in
 * `_every_server.ts`, `send` and `sendRaw` (one server, no fail mode) in `_one_try.ts`, the
 * server list and its health in `_health.ts`, one Client per server in `_pool.ts`, the
 * selectors in `selectors/` (made in `_select.ts`, which also chooses the server of each try),
 * time bounds in `_bounds.ts`.
 *
 * @module
 */
import type { KVPair, RegistryOutageEvent, ServiceDiscovery } from "../registry/discovery.ts";
import type { Message } from "../protocol/message.ts";
import { type Bounded, waitBound } from "./_calls.ts";
import { type TypedClient, typedProxy } from "./typed.ts";
import type { SelectFunc } from "./plugin.ts";
import { ClientPluginChain } from "./_plugin_chain.ts";
import { PushReceivers } from "./_push.ts";
import type { ServerMessagesOptions, ServerMessageStream } from "./push.ts";
import { ClientClosedError } from "./errors.ts";
import { type SelectMode, type Selector, WeightedLatencySelector } from "./selectors.ts";
import type { CallOptions, ClientOptions, FailMode, XClientOptions } from "./options.ts";
import { ServerHealth } from "./_health.ts";
import { ClientPool } from "./_pool.ts";
import { makeSelector, ServerChooser } from "./_select.ts";
import { abortable } from "../_internal/async.ts";
import { type Budget, budgetOf, maxWaitOf, waitReady } from "./_bounds.ts";
import { startCall, type Tries } from "./_fail_modes.ts";
import { type OneTry, sendOnce, sendRawOnce } from "./_one_try.ts";
import {
  allReplies,
  type EveryServer,
  everyServer,
  firstReply,
  type Receipt,
  receipts,
} from "./_every_server.ts";
import { callFor, parentOf } from "./_parent.ts";
import { StreamCalls } from "./stream_calls.ts";

export { FailMode, type XClientOptions } from "./options.ts";
export type { Receipt } from "./_every_server.ts";

const NO_OPTIONS: CallOptions = {};

/**
 * Calls one service through a discovery.
 *
 * @example
 * ```ts
 * import { FailMode, MultipleServersDiscovery, SelectMode, Server, XClient } from "@rpcx/core";
 * const servers = [new Server(), new Server()];
 * const pairs = [];
 * for (const s of servers) {
 *   s.register({ Who: () => "me" }, "Svc");
 *   pairs.push({ key: `tcp@${await s.serve("tcp", "127.0.0.1:0")}`, value: "" });
 * }
 * const x = new XClient("Svc", FailMode.Failover, SelectMode.RoundRobin,
 *   new MultipleServersDiscovery(pairs));
 * console.log(await x.call("Who", null)); // "me"
 * await x.close();
 * for (const s of servers) await s.close();
 * ```
 */
export class XClient extends StreamCalls {
  /** The service called. */
  readonly servicePath: string;
  /** The fail mode. */
  readonly failMode: FailMode;
  /** The select mode. */
  readonly selectMode: SelectMode;
  /** The discovery followed. */
  readonly discovery: ServiceDiscovery;
  readonly #options: XClientOptions;
  readonly #selector: Selector;
  /** The client plugins (also handed to every connection's Client). */
  readonly #plugins: ClientPluginChain | undefined;
  /** One Client per server. */
  readonly #pool: ClientPool;
  /** Whether the discovery's first list is in: calls need not wait for it. */
  #discoveryReady = false;
  /** The listed servers and their health. */
  readonly #health: ServerHealth;
  #closed = false;
  /** Aborted by `close()`: what waits (for the discovery) stops at once. */
  readonly #closing = new AbortController();
  /** The bound of an operation without a timeout, ms (undefined: none). */
  readonly #maxWait: number | undefined;
  readonly #unwatch: () => void;
  /** The server of each try. */
  readonly #chooser: ServerChooser;
  // Typed by shape, not by the DOM's `Event`: Deno's and Node's `Event` types differ when both
  // are loaded (a registry's npm client brings Node's), and `EventListener` is DOM-only.
  readonly #onOutage = (e: { type: string }): void => {
    this.#chooser.registryError = (e as RegistryOutageEvent).error;
  };
  readonly #onRecovered = (): void => {
    this.#chooser.registryError = undefined;
  };
  readonly #push: PushReceivers;
  /** What the fail modes, broadcast/fork and the one-server tries use of this client. */
  readonly #core: Tries & EveryServer & OneTry;

  /**
   * Follows `discovery` for `servicePath`.
   *
   * @throws {RangeError} when `options.maxWait` is not a number > 0.
   */
  constructor(
    servicePath: string,
    failMode: FailMode,
    selectMode: SelectMode,
    discovery: ServiceDiscovery,
    options: XClientOptions = {},
  ) {
    super(options.serializeType);
    this.servicePath = servicePath;
    this.failMode = failMode;
    this.selectMode = selectMode;
    this.discovery = discovery;
    this.#options = options;
    this.#maxWait = maxWaitOf(options.maxWait);
    this.#push = new PushReceivers(
      options.onServerMessage,
      servicePath,
      options.bidirectionalBlock ?? false,
    );
    // Each server's Client: pushes go to this XClient's receivers; a call without a timeout is
    // bounded at maxWait (never sent).
    const clientOptions: ClientOptions & Bounded = {
      ...options,
      onServerMessage: (m) => this.#push.dispatch(m),
      [waitBound]: this.#maxWait,
    };
    this.#selector = makeSelector(selectMode, options);
    this.#health = new ServerHealth(this.#selector, options);
    this.#pool = new ClientPool(clientOptions, this.#health);
    const select: SelectFunc = (path, method, args) => this.#selector.select(path, method, args);
    this.#plugins = ClientPluginChain.of(options.plugins);
    const wrapped = this.#plugins?.wrapSelect(select) ?? select;
    this.#chooser = new ServerChooser(servicePath, this.#health, wrapped, options.sticky ?? false);
    this.#core = {
      failMode,
      options,
      maxWait: this.#maxWait,
      closed: () => this.#closed,
      closing: this.#closing.signal,
      pick: (method, args, tried) => this.#chooser.pick(method, args, tried),
      callOne: <T>(key: string, method: string, args: unknown, options: CallOptions) =>
        this.#pool.call<T>(key, this.servicePath, method, args, options),
      ready: (signal, budget) => this.#ready(signal, budget),
      keys: () => this.discovered,
      noServer: () => this.#chooser.noServer(),
      servicePath,
      health: this.#health,
      pool: this.#pool,
      plugins: this.#plugins,
    };
    const setPairs = (pairs: KVPair[]) => this.#pool.retireAllBut(this.#health.setPairs(pairs));
    this.#unwatch = discovery.watch(setPairs);
    discovery.addEventListener("outage", this.#onOutage);
    discovery.addEventListener("recovered", this.#onRecovered);
    discovery.ready().then(() => (this.#discoveryReady = true), () => {});
    setPairs(discovery.getServices());
  }

  /**
   * The messages any of its servers pushes from now on, as a bounded async iterator that ends on
   * `close()` (Go: the channel of `NewBidirectionalXClient`); `ServerMessage.server` says which
   * server. A server pushes on the connection a call opened. `options.onServerMessage` is the
   * callback form.
   *
   * @example
   * ```ts
   * import { FailMode, Peer2PeerDiscovery, SelectMode, XClient } from "@rpcx/core";
   * const xclient = new XClient("Arith", FailMode.Failtry, SelectMode.RandomSelect,
   *   new Peer2PeerDiscovery("tcp@127.0.0.1:8972"));
   * const pushes = xclient.serverMessages();
   * setTimeout(() => xclient.close(), 10);
   * for await (const m of pushes) console.log(m.server, new TextDecoder().decode(m.data));
   * ```
   */
  serverMessages(options: ServerMessagesOptions = {}): ServerMessageStream {
    return this.#push.subscribe(options);
  }

  /**
   * Keys of the servers the selector chooses from now: inactive servers, other groups and
   * servers backing off after failures are left out — unless every server is backing off,
   * then all are listed (backoff orders servers, it never hides the last ones).
   */
  get servers(): string[] {
    return this.#health.available().map((p) => p.key);
  }

  /** Keys the discovery lists after state and group filtering (down servers included). */
  get discovered(): string[] {
    return this.#health.pairs.map((p) => p.key);
  }

  /**
   * Waits for the discovery's first list, at most `discoveryTimeout` (and what is left of
   * `budget`); rejects with {@linkcode ClientClosedError} at once when the client closes, and
   * with {@linkcode NoServerAvailableError} (the registry's error as `cause`) as soon as the
   * discovery reports that its registry failed (an `"outage"` before its first list): a
   * registry that refuses or cannot be reached fails the call at once, a slow one is waited for.
   */
  async #ready(signal: AbortSignal | undefined, budget: Budget | undefined): Promise<void> {
    if (this.#closed) throw new ClientClosedError();
    if (this.#discoveryReady) return;
    let wait = this.#options.discoveryTimeout ?? 5000;
    if (budget !== undefined) wait = Math.min(wait, budget.deadline - Date.now());
    const failed = new AbortController();
    // Registered after the constructor's #onOutage, so the chooser has the error already. A
    // microtask later, so a list published just before the outage (a cache file's) still wins:
    // its `#discoveryReady` job was queued first.
    const onOutage = () =>
      void Promise.resolve().then(() => {
        const d = this.discovery as { listPending?: boolean };
        if (this.#discoveryReady || d.listPending === true) return;
        failed.abort(this.#chooser.noServer());
      });
    this.discovery.addEventListener("outage", onOutage);
    if (this.#chooser.registryError !== undefined) onOutage(); // an outage reported already
    try {
      await waitReady(
        abortable(this.discovery.ready(), failed.signal),
        wait,
        signal,
        this.#closing.signal,
      );
    } finally {
      this.discovery.removeEventListener("outage", onOutage);
    }
    if (this.#closed) throw new ClientClosedError();
  }

  /**
   * Calls `method` with `args` on a server chosen by the select mode, applying the fail mode.
   * `timeout` (the call's, else the options') and `signal` bound the whole call, retries
   * included; without a timeout, `maxWait` does (default 60 s, not sent to the server).
   * Rejects with {@linkcode ClientClosedError} at once when the client is closed meanwhile: no
   * fail mode retries or sends the call again after `close()`.
   */
  call<T = unknown>(method: string, args: unknown, options: CallOptions = NO_OPTIONS): Promise<T> {
    if (this.#closed) return Promise.reject(new ClientClosedError());
    const parent = parentOf(options);
    if (parent !== undefined) {
      return callFor(parent, options, this.#options.timeout, (o) => this.call<T>(method, args, o));
    }
    // The default timeout of the options bounds the whole call too, not each try.
    const budget = budgetOf(options.timeout ?? this.#options.timeout, this.#maxWait);
    if (!this.#discoveryReady) {
      return this.#ready(options.signal, budget).then(() =>
        startCall<T>(this.#core, method, args, options, budget, true)
      );
    }
    return startCall<T>(this.#core, method, args, options, budget, false);
  }

  /**
   * A typed view of this client's service: `xclient.typed<Arith>().Mul(args, options)` calls
   * `call("Mul", args, options)` (fail and select modes applied), with method names, args and
   * reply checked by the compiler against the class `S` (see {@linkcode TypedClient}).
   */
  typed<S>(): TypedClient<S> {
    return typedProxy<S>((method, args, options) => this.call(method, args, options));
  }

  /**
   * Calls every discovered server (after state and group filtering; backing-off servers
   * included); resolves with all replies when all succeed, rejects with the first error (the
   * calls still under way are abandoned, as Go cancels their context). Bounded by `maxWait`
   * (default 60 s) even when `timeout` is longer, as Go bounds `Broadcast` at one minute; a
   * server that never answers fails it with {@linkcode CallTimeoutError}.
   */
  async broadcast<T = unknown>(
    method: string,
    args: unknown,
    options: CallOptions = {},
  ): Promise<T[]> {
    return await this.#forParent(
      options,
      (o) => everyServer<T, T[]>(this.#core, method, args, o, allReplies),
    );
  }

  /**
   * Calls every discovered server (after state and group filtering; backing-off servers
   * included); resolves with the first success (the other calls are abandoned), rejects with
   * the last error if all fail. Bounded by `maxWait` like {@linkcode XClient.broadcast} (Go's
   * one-minute bound of `Fork`).
   */
  async fork<T = unknown>(method: string, args: unknown, options: CallOptions = {}): Promise<T> {
    return await this.#forParent(
      options,
      (o) => everyServer<T, T>(this.#core, method, args, o, firstReply),
    );
  }

  /**
   * Calls every discovered server (after state and group filtering; backing-off servers
   * included) and resolves, once each has answered, failed or run out of time, with one
   * {@linkcode Receipt} per server in the discovered order: its address (`host:port`), and its
   * reply or its error (Go's `Inform`, whose `Receipt` has `Address`, `Reply`, `Error`). It
   * rejects only when it cannot start: {@linkcode NoServerAvailableError} when no server is
   * listed, {@linkcode ClientClosedError}. Bounded by `maxWait` like
   * {@linkcode XClient.broadcast} (Go's one minute): a server that has not answered by then
   * gets a {@linkcode CallTimeoutError} receipt. Unlike Go's, a server that cannot be reached
   * has its receipt (a {@linkcode ConnectionError}), and each receipt has its own error (Go's
   * `Receipt.Error` is the aggregate of all).
   *
   * @example
   * ```ts
   * import { FailMode, MultipleServersDiscovery, SelectMode, XClient } from "@rpcx/core";
   * const x = new XClient("Arith", FailMode.Failfast, SelectMode.RandomSelect,
   *   new MultipleServersDiscovery([{ key: "tcp@127.0.0.1:8972", value: "" }]));
   * for (const r of await x.inform("Mul", { A: 2, B: 3 }, { timeout: 500 })) {
   *   console.log(r.address, r.error ?? r.reply);
   * }
   * await x.close();
   * ```
   */
  async inform<T = unknown>(
    method: string,
    args: unknown,
    options: CallOptions = {},
  ): Promise<Receipt<T>[]> {
    return await this.#forParent(
      options,
      (o) => everyServer<T, Receipt<T>[]>(this.#core, method, args, o, receipts),
    );
  }

  /** `run` with the options of a call made for the call being served, if any (`parent`). */
  #forParent<R>(options: CallOptions, run: (options: CallOptions) => Promise<R>): Promise<R> {
    const parent = parentOf(options);
    return parent === undefined
      ? run(options)
      : callFor(parent, options, this.#options.timeout, run);
  }

  /**
   * Oneway call to one selected server: resolves when written. Bounded like `call` (a server
   * that stops reading fails it with {@linkcode CallTimeoutError}).
   */
  async send(method: string, args: unknown, options: CallOptions = {}): Promise<void> {
    await this.#forParent(options, (o) => sendOnce(this.#core, method, args, o));
  }

  /**
   * Sends a message built by the caller to one selected server (Go's SendRaw); resolves with
   * the response message (undefined for oneway). Bounded like `call`.
   */
  async sendRaw(req: Message, options: CallOptions = {}): Promise<Message | undefined> {
    const parent = parentOf(options);
    if (parent !== undefined) {
      const raw = (o: CallOptions) => this.sendRaw(req, o);
      return await callFor(parent, options, this.#options.timeout, raw, false);
    }
    return await sendRawOnce(this.#core, req, options);
  }

  /**
   * Closes every connection and stops following the discovery (which stays open). Every
   * operation still under way (waiting for the discovery, dialing, waiting for a reply, between
   * two tries, before a backup request) fails at once with {@linkcode ClientClosedError};
   * nothing is dialed, retried or sent again afterwards. Go: `XClient.Close`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    this.#unwatch();
    this.discovery.removeEventListener("outage", this.#onOutage);
    this.discovery.removeEventListener("recovered", this.#onRecovered);
    this.#push.close();
    if (this.#selector instanceof WeightedLatencySelector) this.#selector.close();
    await this.#pool.close();
  }
}
