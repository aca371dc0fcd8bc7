/**
 * The transport layer's contracts: a connection (a byte stream with its addresses), a listener,
 * a network (how to dial and listen), and the registry of networks looked up by name (as Go
 * rpcx's `ConnFactories`/`RegisterMakeListener`).
 *
 * @module
 */
import { RpcxError } from "../protocol/errors.ts";
import type { Message } from "../protocol/message.ts";
import type { ByteStream } from "./byte_stream.ts";
import type { FramedConnectionHandlers, FramedConnectionOptions } from "./framed_options.ts";

/**
 * A connected byte stream and its addresses.
 *
 * @example
 * ```ts
 * import { type Connection, defaultNetworks } from "@rpcx/core/extend";
 * const describe = (c: Connection) => `${c.network}: ${c.localAddress} <- ${c.remoteAddress}`;
 * const tcp = defaultNetworks.get("tcp");
 * const listener = await tcp.listen("127.0.0.1:0");
 * const accepted = listener[Symbol.asyncIterator]().next();
 * const dialed = await tcp.dial(listener.address);
 * const { value: served } = await accepted;
 * console.log(describe(dialed)); // tcp: 127.0.0.1:… <- 127.0.0.1:…
 * await dialed.write(new TextEncoder().encode("hi"));
 * const buf = new Uint8Array(2);
 * console.log(await served.read(buf), new TextDecoder().decode(buf)); // 2 hi
 * dialed.close();
 * served.close();
 * await listener.close();
 * ```
 */
export interface Connection extends ByteStream {
  /** The network it runs on (`tcp`, `unix`, `ws`, ...). */
  readonly network: string;
  /** Our end: `host:port`, or a socket path. */
  readonly localAddress: string;
  /** The peer's end: `host:port`, or a socket path (may be empty for unix sockets). */
  readonly remoteAddress: string;
  /**
   * Optional: carry whole rpcx messages instead of bytes, for a connection that needs no
   * encoding (the ends of an in-memory `pipe`). The Server and Client call it, when
   * present, in place of wrapping the connection in a `FramedConnection` (which takes the same
   * `handlers` and `options`), and use the link it returns the same way; the connection's bytes
   * are not read or written by them then.
   */
  messageLink?(handlers: FramedConnectionHandlers, options?: FramedConnectionOptions): MessageLink;
}

/**
 * What carries rpcx messages over a connection: a `FramedConnection` over its bytes, or what a
 * connection's own `messageLink` returns. `send` queues a message; `drained` resolves once all
 * queued were written (taken by the peer) or the link closed; `close` drops what is queued and
 * calls the handlers' `onClose` once; the handlers' `onMessage` may return a promise, which
 * pauses reading until it settles (backpressure). Times are ms since the epoch.
 *
 * @example
 * ```ts
 * import { type MessageLink, pipe } from "@rpcx/core/extend";
 * const [a, b] = pipe();
 * const link: MessageLink = a.messageLink!({ onMessage: (m) => console.log(m.seq) });
 * link.start();
 * link.close();
 * b.close();
 * ```
 */
export interface MessageLink {
  /** Starts reading (messages are delivered to the handlers' `onMessage` from now on). */
  start(): void;
  /** Queues a message; those of one turn go out together. */
  send(msg: Message): void;
  /** Resolves when everything queued so far was written, or the link closed. */
  drained(): Promise<void>;
  /** Closes at once; queued messages are dropped. Idempotent. */
  close(): void;
  /** Whether it is closed. */
  readonly isClosed: boolean;
  /** When the last complete message arrived (ms since epoch; the start time before any). */
  readonly lastMessageAt: number;
  /** Since when the current write has been waiting (ms since epoch; 0 if none). */
  readonly writePendingSince: number;
}

/**
 * What a server plugin or a service method learns of a connection (a server's view of an
 * accepted {@linkcode Connection}).
 *
 * @example
 * ```ts
 * import type { ConnInfo } from "@rpcx/core";
 * const c: ConnInfo = { id: 1, network: "tcp", remoteAddress: "127.0.0.1:50000", localAddress: "127.0.0.1:8972" };
 * console.log(c.remoteAddress);
 * ```
 */
export interface ConnInfo {
  /** Unique per server. */
  readonly id: number;
  /** The network it came on: `tcp`, `inprocess`, ... */
  readonly network: string;
  /** The peer's `host:port` (an in-process client: `inprocess-client-<n>`). */
  readonly remoteAddress: string;
  /** Our `host:port`. */
  readonly localAddress: string;
}

/**
 * Accepts connections until closed; iterate it with `for await`.
 *
 * @example
 * ```ts
 * import { defaultNetworks } from "@rpcx/core/extend";
 * const listener = await defaultNetworks.get("tcp").listen("127.0.0.1:0");
 * console.log(listener.address.startsWith("127.0.0.1:")); // true
 * listener.close();
 * ```
 */
export interface Listener extends AsyncIterable<Connection> {
  /** The network it listens on. */
  readonly network: string;
  /** The bound address (`host:port` with the real port, or the socket path). */
  readonly address: string;
  /**
   * The listening socket's file descriptor where the runtime tells it (node:net on Unix), so a
   * graceful restart can hand the socket itself to the new process; else undefined.
   */
  readonly fd?: number;
  /**
   * Stops accepting; the iteration ends. Idempotent. May return a promise that resolves once the
   * address is free to listen on again (every listener of the built-in networks does; Deno frees
   * a listening socket only after the accept in progress has ended).
   */
  close(): void | Promise<void>;
}

/**
 * TLS settings, PEM text (as Go's `tls.Config` built from files). On a client: `caCerts` to trust
 * (as Go's `RootCAs`: when given, only these; else the default roots), `serverName` to verify
 * (default: the host dialed), and `certChain`/`privateKey` to present for mutual TLS. A
 * self-signed server certificate is accepted when it is itself in `caCerts`, also one marked as a
 * CA (as `openssl req -x509` makes them; Go accepts it too). On a server: `certChain`/`privateKey`
 * (required), and `caCerts` with `requireClientCert` for mutual TLS. TLS runs on `node:tls` on
 * both sides, on every runtime.
 *
 * @example
 * ```ts
 * import type { TlsOptions } from "@rpcx/core";
 * const tls: TlsOptions = { caCerts: ["-----BEGIN CERTIFICATE-----\n..."], serverName: "localhost" };
 * console.log(tls.serverName);
 * ```
 */
export interface TlsOptions {
  /** Our certificate chain (PEM). */
  certChain?: string;
  /** Our private key (PEM). */
  privateKey?: string;
  /**
   * Certificates to trust (PEM): the server's CA (or its self-signed certificate) on a client,
   * client CAs on a server.
   */
  caCerts?: string[];
  /** Client: the name the server's certificate must carry (default: the host dialed). */
  serverName?: string;
  /** Server: refuse clients that do not present a certificate signed by `caCerts`. */
  requireClientCert?: boolean;
  /**
   * Client: accept ANY server certificate, unverified — expired, self-signed, for another name
   * (Go's `tls.Config{InsecureSkipVerify: true}`, as rpcx-examples `tls` uses it). UNSAFE: the
   * connection is encrypted but anyone between the client and the server can read and change
   * it. For tests and local development only; trust the server's CA with `caCerts` instead.
   * Default false.
   */
  insecureSkipVerify?: boolean;
}

/**
 * Options of {@linkcode Network.dial}.
 *
 * @example
 * ```ts
 * import type { DialOptions } from "@rpcx/core/extend";
 * const o: DialOptions = { timeout: 1000 };
 * console.log(o.timeout);
 * ```
 */
export interface DialOptions {
  /** Give up after this many ms (default 1000). */
  timeout?: number;
  /** Dial with TLS (tcp, http, wss). */
  tls?: TlsOptions;
  /** The HTTP path for `http` (CONNECT) and `ws`/`wss` (default `/_rpcx_`, Go's `share.DefaultRPCPath`). */
  path?: string;
  /**
   * `tcp`: the TCP keep-alive period, ms (Go's `TCPKeepAlivePeriod`): idle time before the
   * first probe. Undefined: keep-alive on with the system's period; `0`: off. A period is set
   * through `node:net` (`Deno.connect` cannot set it).
   */
  keepAlive?: number;
}

/**
 * Options of {@linkcode Network.listen}.
 *
 * @example
 * ```ts
 * import type { ListenOptions } from "@rpcx/core/extend";
 * const o: ListenOptions = { reusePort: true };
 * console.log(o.reusePort);
 * ```
 */
export interface ListenOptions {
  /** Serve TLS (tcp, http, wss; required for wss). */
  tls?: TlsOptions;
  /**
   * Set SO_REUSEPORT (tcp, http, ws, wss): several listeners, in this process or others, share
   * the port and the kernel spreads connections over them. Works without flags: on Deno with
   * `--unstable-net` through `Deno.listen`, without it through `node:net`; on Bun; on Node from
   * 22.12 (earlier Node ignores it: `listen` rejects with a `TypeError` there).
   */
  reusePort?: boolean;
  /**
   * tcp: listen on this inherited listening socket (a file descriptor) instead of binding: what a
   * graceful restart's new process does (`Server.restart`); Node and Bun only.
   */
  fd?: number;
  /**
   * How long an accepted connection may take (ms) to finish its TLS handshake and, on http, ws
   * and wss, its HTTP CONNECT or WebSocket upgrade (each); past it the socket is closed and freed.
   * Default: the server's `readTimeout` when set (Go sets the read deadline before the
   * handshake), else `DEFAULT_HANDSHAKE_TIMEOUT` (10 000).
   */
  handshakeTimeout?: number;
  /**
   * Connections the kernel may queue before they are accepted (tcp; default 4096, capped by
   * `net.core.somaxconn`, as Go listens).
   */
  backlog?: number;
  /** The HTTP path for `http` and `ws`/`wss` (default `/_rpcx_`). */
  path?: string;
  /**
   * TCP keep-alive of the accepted connections (tcp, http, ws, wss; Go's
   * `server.WithTCPKeepAlivePeriod`): idle time before the first probe, ms. Undefined: on, with
   * the system's period; `0`: off. On Deno a period listens through `node:net` (`Deno.listen`
   * cannot set it).
   */
  keepAlive?: number;
  /**
   * `tcp` on Deno: listen with `node:net` (true; Node and Bun always do) or with Deno's own
   * sockets (false). Deno's own sockets carry rpcx frames a little faster with few connections,
   * but serve a saturated port's connections unfairly (with 1000 connections some waited seconds
   * for their first answer while others were answered over and over), and hand an HTTP
   * connection (HTTP invoke, JSON-RPC) to node:http through a stream adapter rather than as the
   * socket itself. The README's "HTTP on the rpcx port" has the figures. Default: true for a
   * `Server`'s tcp port (`serve`), false for a bare `listen`.
   */
  nodeSockets?: boolean;
}

/** Go rpcx's default HTTP path for CONNECT and WebSocket (`share.DefaultRPCPath`). */
export const DEFAULT_RPC_PATH = "/_rpcx_";

/**
 * How long (ms) an accepted connection may take to finish its TLS handshake and, on http, ws and
 * wss, its HTTP CONNECT or WebSocket upgrade, when neither {@linkcode ListenOptions}'
 * `handshakeTimeout` nor the server's `readTimeout` is set: 10 000. Go has no such default (its
 * bound is the read deadline, none unless `WithReadTimeout`); without one a peer that never
 * finishes would hold its socket for ever.
 *
 * @example
 * ```ts
 * import { DEFAULT_HANDSHAKE_TIMEOUT } from "@rpcx/core/extend";
 * console.log(DEFAULT_HANDSHAKE_TIMEOUT); // 10000
 * ```
 */
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/**
 * A network: how to dial an address and how to listen on one.
 *
 * @example
 * ```ts
 * import { type Network, NetworkRegistry, tcpNetwork } from "@rpcx/core/extend";
 * // A network that is tcp under another name.
 * const mine: Network = { ...tcpNetwork, name: "mytcp" };
 * const networks = new NetworkRegistry();
 * networks.register(mine);
 * console.log(networks.has("mytcp")); // true
 * ```
 */
export interface Network {
  /** The name in addresses (`name@address`). */
  readonly name: string;
  /**
   * Connects to `address`. Rejects with `ConnectionRefusedError` when nothing listens there,
   * `DialTimeoutError` after `options.timeout`, `TlsHandshakeError` when TLS fails, or another
   * `DialError`.
   */
  dial(address: string, options?: DialOptions): Promise<Connection>;
  /** Listens on `address` (port 0 picks a free one). */
  listen(address: string, options?: ListenOptions): Promise<Listener>;
}

/**
 * Thrown when no network of that name is registered.
 *
 * @example
 * ```ts
 * import { UnsupportedNetworkError } from "@rpcx/core";
 * console.log(new UnsupportedNetworkError("quic").message); // "rpcx: unsupported network quic"
 * ```
 */
export class UnsupportedNetworkError extends RpcxError {
  /** The name asked for. */
  readonly network: string;
  /** Creates the error for `network`. */
  constructor(network: string) {
    super(`rpcx: unsupported network ${network}`);
    this.network = network;
  }
}

/**
 * Networks by name, shaped like `CodecRegistry`: the Server and Client look their network up
 * here (default {@linkcode defaultNetworks}); add your own with `register`.
 *
 * @example
 * ```ts
 * import { defaultNetworks } from "@rpcx/core/extend";
 * console.log(defaultNetworks.names()); // ["tcp", "tcp4", "tcp6", "unix", "http", "ws", "wss", "inprocess"]
 * ```
 */
export class NetworkRegistry {
  readonly #networks = new Map<string, Network>();

  /** Adds (or replaces) `network` under its name and each of `aliases`. */
  register(network: Network, ...aliases: string[]): this {
    for (const name of [network.name, ...aliases]) this.#networks.set(name, network);
    return this;
  }

  /** Whether `name` is registered. */
  has(name: string): boolean {
    return this.#networks.has(name);
  }

  /** The network called `name`; throws {@linkcode UnsupportedNetworkError}. */
  get(name: string): Network {
    const n = this.#networks.get(name);
    if (!n) throw new UnsupportedNetworkError(name);
    return n;
  }

  /** The registered names, in registration order. */
  names(): string[] {
    return [...this.#networks.keys()];
  }
}
