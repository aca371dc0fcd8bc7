/**
 * XClient: calls a service through a discovery, with select modes, fail modes, retries,
 * broadcast and fork, and per-server health (refused servers are skipped and retried later).
 *
 * @module
 */
import type { KVPair, RegistryOutageEvent, ServiceDiscovery } from "../registry/discovery.ts";
import { createMessage, type Message } from "../protocol/message.ts";
import { type Bounded, trackedCall, waitBound } from "./_calls.ts";
import { type TypedClient, typedProxy } from "./typed.ts";
import { ClientPluginChain, type SelectFunc } from "./plugin.ts";
import { PushReceivers } from "./_push.ts";
import type { ServerMessagesOptions, ServerMessageStream } from "./push.ts";
import {
  ClientClosedError,
  isRetryable,
  NoServerAvailableError,
  NoServerSelectedError,
} from "./errors.ts";
import { type SelectMode, type Selector, WeightedLatencySelector } from "./selectors.ts";
import { type CallOptions, type ClientOptions, FailMode, type XClientOptions } from "./options.ts";
import { ServerHealth } from "./_health.ts";
import { ClientPool, type Entry } from "./_pool.ts";
import { makeSelector } from "./_select.ts";
import { type Budget, budgetOf, maxWaitOf, timedOut, tryOptions, waitReady } from "./_bounds.ts";

export { FailMode, type XClientOptions } from "./options.ts";

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
export class XClient {
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
  /** The selector, wrapped by the plugins' `wrapSelect`. */
  readonly #select: SelectFunc;
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
  /** The discovery's last outage error while it cannot reach its registry, else undefined. */
  #registryError: unknown = undefined;
  readonly #onOutage: EventListener = (e) => {
    this.#registryError = (e as RegistryOutageEvent).error;
  };
  readonly #onRecovered: EventListener = () => {
    this.#registryError = undefined;
  };
  readonly #push: PushReceivers;
  /** Options of each server's Client: pushes go to this XClient's receivers. */
  readonly #clientOptions: ClientOptions & Bounded;

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
    // Each connection's client bounds a call without a timeout at maxWait (never sent).
    this.#clientOptions = {
      ...options,
      onServerMessage: (m) => this.#push.dispatch(m),
      [waitBound]: this.#maxWait,
    };
    this.#selector = makeSelector(selectMode, options);
    this.#health = new ServerHealth(this.#selector, options);
    this.#pool = new ClientPool(this.#clientOptions, this.#health);
    const select: SelectFunc = (path, method, args) => this.#selector.select(path, method, args);
    this.#plugins = ClientPluginChain.of(options.plugins);
    this.#select = this.#plugins?.wrapSelect(select) ?? select;
    this.#unwatch = discovery.watch((pairs) => this.#setPairs(pairs));
    discovery.addEventListener("outage", this.#onOutage);
    discovery.addEventListener("recovered", this.#onRecovered);
    discovery.ready().then(() => (this.#discoveryReady = true), () => {});
    this.#setPairs(discovery.getServices());
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

  #setPairs(pairs: KVPair[]): void {
    this.#pool.retireAllBut(this.#health.setPairs(pairs));
  }

  /**
   * Waits for the discovery's first list, at most `discoveryTimeout` (and what is left of
   * `budget`); rejects with {@linkcode ClientClosedError} at once when the client closes.
   */
  async #ready(signal: AbortSignal | undefined, budget: Budget | undefined): Promise<void> {
    if (this.#closed) throw new ClientClosedError();
    if (this.#discoveryReady) return;
    let wait = this.#options.discoveryTimeout ?? 5000;
    if (budget !== undefined) wait = Math.min(wait, budget.deadline - Date.now());
    await waitReady(this.discovery.ready(), wait, signal, this.#closing.signal);
    if (this.#closed) throw new ClientClosedError();
  }

  /** "No server", saying why when the discovery cannot reach its registry. */
  #noServer(): NoServerAvailableError {
    const e = this.#registryError;
    if (e === undefined) return new NoServerAvailableError(this.servicePath);
    const why = e instanceof Error ? e.message : String(e);
    return new NoServerAvailableError(
      this.servicePath,
      `; its registry cannot be reached: ${why}`,
      { cause: e },
    );
  }

  /**
   * The server for the next try: the selector's choice among the available servers, else
   * (when it was tried already) another available one, else a backing-off one not tried yet
   * (soonest due first), else the selector's choice again.
   */
  #pick(method: string, args: unknown, tried?: Set<string>): string {
    const available = this.#health.available();
    if (available.length === 0) throw this.#noServer();
    let key = this.#select(this.servicePath, method, args);
    if (key === undefined) throw new NoServerSelectedError(this.servicePath, available.length);
    if (tried === undefined || !tried.has(key)) return key;
    for (const p of available) if (!tried.has(p.key)) return p.key;
    let due = Infinity;
    for (const p of this.#health.pairs) {
      const until = this.#health.downUntil(p.key);
      if (!tried.has(p.key) && until < due) {
        due = until;
        key = p.key;
      }
    }
    return key;
  }

  /**
   * One try on `key`: its health is updated from the outcome. Never throws: after `close()`
   * it rejects with {@linkcode ClientClosedError} (nothing is dialed).
   */
  #callOne<T>(key: string, method: string, args: unknown, options: CallOptions): Promise<T> {
    let entry: Entry;
    try {
      entry = this.#pool.entry(key);
    } catch (e) {
      return Promise.reject(e);
    }
    entry.busy++;
    const client = entry.client;
    return client[trackedCall]<T>(this.servicePath, method, args, options, entry.track) ??
      client.call<T>(this.servicePath, method, args, options).then(
        entry.ok,
        entry.failed,
      ) as Promise<T>;
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
    // The default timeout of the options bounds the whole call too, not each try.
    const budget = budgetOf(options.timeout ?? this.#options.timeout, this.#maxWait);
    if (!this.#discoveryReady) {
      return this.#ready(options.signal, budget).then(() =>
        this.#start<T>(method, args, options, budget, true)
      );
    }
    return this.#start<T>(method, args, options, budget, false);
  }

  /**
   * The fail modes: the first try goes straight out (no waiting beyond the call itself);
   * only when it fails with a transport error do Failover and Failtry enter the retry loop.
   * `waited`: the call waited for the discovery before.
   */
  #start<T>(
    method: string,
    args: unknown,
    options: CallOptions,
    budget: Budget | undefined,
    waited: boolean,
  ): Promise<T> {
    const mode = this.failMode;
    // A call bound by maxWait alone that did not wait goes out with the caller's options as
    // they are: each connection's client bounds a call with no timeout at maxWait.
    const plain = budget === undefined || (!budget.sent && !waited);
    if (mode === FailMode.Failfast && plain) {
      // One try: nothing to retry or rewrite.
      try {
        return this.#callOne<T>(this.#pick(method, args), method, args, options);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const tries = mode === FailMode.Failover || mode === FailMode.Failtry
      ? Math.max(this.#options.retries ?? 3, 0) + 1
      : 1;
    let key: string | undefined;
    let first: Promise<T>;
    try {
      key = this.#pick(method, args);
      first = this.#try<T>(
        key,
        method,
        args,
        options,
        plain ? options : tryOptions(options, budget!),
        budget,
      );
    } catch (e) {
      first = Promise.reject(e);
    }
    const p = tries > 1
      ? first.catch((e) => this.#retry<T>(e, key, tries, method, args, options, budget))
      : first;
    if (plain) return p;
    return p.catch((e) => {
      // A try's timeout is what was left of the call's: report the call's own timeout.
      throw timedOut(e, budget);
    });
  }

  /**
   * One try of the fail mode on `key` with `tryOpts` (Failbackup: with its backup, whose
   * options are made from `options` and `budget` when it starts).
   */
  #try<T>(
    key: string,
    method: string,
    args: unknown,
    options: CallOptions,
    tryOpts: CallOptions,
    budget: Budget | undefined,
  ): Promise<T> {
    return this.failMode === FailMode.Failbackup
      ? this.#backup<T>(key, method, args, options, tryOpts, budget)
      : this.#callOne<T>(key, method, args, tryOpts);
  }

  /**
   * The one retry loop of the fail modes, after a first try on `key` failed with `error`: on a
   * transport error try again — Failover on another server, Failtry on the same one — up to
   * `tries` tries in all, within the call's budget. A service error is never retried, and
   * nothing is tried once the client is closed.
   */
  async #retry<T>(
    error: unknown,
    key: string | undefined,
    tries: number,
    method: string,
    args: unknown,
    options: CallOptions,
    budget: Budget | undefined,
  ): Promise<T> {
    const signal = options.signal;
    if (key === undefined || !isRetryable(error) || signal?.aborted) throw timedOut(error, budget);
    const tried = new Set<string>([key]);
    let last = error;
    for (let i = 1; i < tries; i++) {
      if (this.#closed) throw new ClientClosedError();
      if (this.failMode !== FailMode.Failtry) {
        try {
          key = this.#pick(method, args, tried);
        } catch {
          throw timedOut(last, budget);
        }
        tried.add(key);
      }
      try {
        const opts = budget === undefined ? options : tryOptions(options, budget);
        return await this.#try<T>(key!, method, args, options, opts, budget);
      } catch (e) {
        last = e;
        if (!isRetryable(e) || signal?.aborted) throw timedOut(e, budget);
      }
    }
    throw timedOut(last, budget);
  }

  /**
   * Failbackup (Go's): a try on `first`; when it has not answered within `backupLatency` (or
   * failed with a transport error before), a second try — on another server when there is one,
   * else on the same one, as Go asks the select mode again — and the first reply wins; the
   * other try is abandoned.
   */
  #backup<T>(
    first: string,
    method: string,
    args: unknown,
    options: CallOptions,
    firstOpts: CallOptions,
    budget: Budget | undefined,
  ): Promise<T> {
    const ac = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, ac.signal]) : ac.signal;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let started = 0;
      let failed = 0;
      const run = (key: string, opts: CallOptions) => {
        started++;
        this.#callOne<T>(key, method, args, { ...opts, signal }).then((reply) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          ac.abort();
          resolve(reply);
        }, (e) => {
          failed++;
          if (settled) return;
          // A failed first try starts the backup at once instead of waiting.
          if (started === 1 && isRetryable(e) && startBackup()) return;
          if (failed >= started) {
            settled = true;
            clearTimeout(timer);
            ac.abort();
            reject(timedOut(e, budget));
          }
        });
      };
      const startBackup = (): boolean => {
        if (settled || started > 1 || this.#closed) return false;
        clearTimeout(timer);
        let second: string;
        let opts: CallOptions;
        try {
          second = this.#pick(method, args, new Set([first]));
          opts = budget === undefined ? options : tryOptions(options, budget);
        } catch {
          return false;
        }
        run(second, opts);
        return true;
      };
      const timer = setTimeout(startBackup, this.#options.backupLatency ?? 10);
      run(first, firstOpts);
    });
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
    return await this.#everyServer<T, T[]>(method, args, options, (calls) => Promise.all(calls));
  }

  /**
   * Calls every discovered server (after state and group filtering; backing-off servers
   * included); resolves with the first success (the other calls are abandoned), rejects with
   * the last error if all fail. Bounded by `maxWait` like {@linkcode XClient.broadcast} (Go's
   * one-minute bound of `Fork`).
   */
  async fork<T = unknown>(method: string, args: unknown, options: CallOptions = {}): Promise<T> {
    return await this.#everyServer<T, T>(
      method,
      args,
      options,
      (calls) =>
        Promise.any(calls).catch((e) => {
          const errors = (e as AggregateError).errors ?? [e];
          throw errors[errors.length - 1];
        }),
    );
  }

  /**
   * Broadcast and fork: one call to each discovered server at once, all within the shorter of
   * the caller's timeout and `maxWait` (never sent to the server: Go adds its minute after
   * setting `__ServerTimeout`); `settle` says when the operation is over, and the calls still
   * under way then are abandoned.
   */
  async #everyServer<T, R>(
    method: string,
    args: unknown,
    options: CallOptions,
    settle: (calls: Promise<T>[]) => Promise<R>,
  ): Promise<R> {
    const budget = budgetOf(options.timeout ?? this.#options.timeout, this.#maxWait, true);
    await this.#ready(options.signal, budget);
    const keys = this.discovered;
    if (keys.length === 0) throw this.#noServer();
    const ac = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, ac.signal]) : ac.signal;
    try {
      let opts: CallOptions = { ...options, signal };
      if (budget !== undefined) opts = tryOptions(opts, budget);
      return await settle(keys.map((k) => this.#callOne<T>(k, method, args, opts)));
    } catch (e) {
      throw timedOut(e, budget);
    } finally {
      ac.abort();
    }
  }

  /**
   * Oneway call to one selected server: resolves when written. Bounded like `call` (a server
   * that stops reading fails it with {@linkcode CallTimeoutError}).
   */
  async send(method: string, args: unknown, options: CallOptions = {}): Promise<void> {
    const budget = budgetOf(options.timeout ?? this.#options.timeout, this.#maxWait);
    await this.#ready(options.signal, budget);
    const key = this.#pick(method, args);
    try {
      const opts = budget === undefined ? options : tryOptions(options, budget);
      await this.#pool.withClient(key, (c) => c.send(this.servicePath, method, args, opts));
      this.#health.markSuccess(key);
    } catch (e) {
      if (isRetryable(e)) this.#health.markFailure(key, e);
      throw timedOut(e, budget);
    }
  }

  /**
   * Sends a message built by the caller to one selected server (Go's SendRaw); resolves with
   * the response message (undefined for oneway). Bounded like `call`.
   */
  async sendRaw(req: Message, options: CallOptions = {}): Promise<Message | undefined> {
    const budget = budgetOf(options.timeout ?? this.#options.timeout, this.#maxWait);
    await this.#ready(options.signal, budget);
    const key = this.#pick(req.serviceMethod, req.payload);
    const msg = createMessage({
      ...req,
      servicePath: req.servicePath || this.servicePath,
      metadata: { ...req.metadata },
    });
    try {
      const opts = budget === undefined ? options : tryOptions(options, budget);
      const send = () => this.#pool.withClient(key, (c) => c.sendRaw(msg, opts));
      // As Go's wrapSendRaw: preCall/postCall around it, the payload as args.
      const res = this.#plugins?.wrapsCalls
        ? await this.#plugins.around({
          address: key,
          servicePath: msg.servicePath,
          serviceMethod: msg.serviceMethod,
          args: msg.payload,
          metadata: msg.metadata,
          oneway: msg.oneway,
        }, send)
        : await send();
      this.#health.markSuccess(key);
      return res;
    } catch (e) {
      if (isRetryable(e)) this.#health.markFailure(key, e);
      throw timedOut(e, budget);
    }
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
