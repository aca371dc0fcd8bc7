/**
 * The `tcp` network (also `tcp4`, `tcp6`), with TLS as an option of the dialer and the listener,
 * as Go rpcx has it (`client.Option.TLSConfig`, `server.WithTLSConfig`). The sockets come from
 * the runtime seam (`runtime().sockets`: Deno's own sockets on Deno, `node:net`/`node:tls` on
 * Node and Bun, TLS on `node:tls` everywhere).
 *
 * @module
 */
import { splitHostPort } from "./address.ts";
import { DialError } from "./errors.ts";
import type {
  Connection,
  DialOptions,
  Listener,
  ListenOptions,
  Network,
  TlsOptions,
} from "./network.ts";
import { runtime } from "../runtime/mod.ts";

/**
 * Opens a TCP connection to `address` (`host:port`) for `network`, with TLS when `tls` is set;
 * the handshake is done before it resolves, all within `timeout` ms. Errors name the address as
 * `network@address`: `ConnectionRefusedError`, `DialTimeoutError`, `TlsHandshakeError`,
 * `DialError` (an address that is not `host:port` too). `keepAlive`: the keep-alive period, ms
 * (undefined: the system's; 0: off).
 */
export async function dialTcp(
  network: string,
  address: string,
  timeout: number,
  tls: TlsOptions | undefined,
  keepAlive?: number,
): Promise<Connection> {
  const label = `${network}@${address}`;
  let hostname: string, port: number;
  try {
    ({ hostname, port } = splitHostPort(address));
  } catch (e) {
    throw new DialError(label, (e as Error).message, { cause: e });
  }
  return await runtime().sockets.connect(
    { transport: "tcp", hostname, port },
    { network, label, timeout, tls, keepAlive },
  );
}

/**
 * Listens on TCP `address` for `network` (TLS when `options.tls`, each handshake bounded by
 * `options.handshakeTimeout`). Rejects with `ListenError` (Go's message) or `TypeError`.
 */
export function listenStream(
  network: string,
  address: string,
  options: ListenOptions,
): Promise<Listener> {
  const { hostname, port } = splitHostPort(address);
  return runtime().sockets.listen({ transport: "tcp", hostname, port }, {
    network,
    address,
    tls: options.tls,
    reusePort: options.reusePort,
    fd: options.fd,
    backlog: options.backlog,
    handshakeTimeout: options.handshakeTimeout,
    keepAlive: options.keepAlive,
    nodeSockets: options.nodeSockets,
  });
}

function tcpNamed(name: string): Network {
  return {
    name,
    dial(address: string, options: DialOptions = {}): Promise<Connection> {
      const timeout = options.timeout ?? 1000;
      return dialTcp(name, address, timeout, options.tls, options.keepAlive);
    },
    listen(address: string, options: ListenOptions = {}): Promise<Listener> {
      return listenStream(name, address, options);
    },
  };
}

/**
 * The `tcp` network: `host:port`; TLS when the options carry `tls`. `tcp4` and `tcp6` are the
 * same network under Go's other names.
 *
 * @example
 * ```ts
 * import { tcpNetwork } from "@rpcx/core/extend";
 * const listener = await tcpNetwork.listen("127.0.0.1:0");
 * const conn = await tcpNetwork.dial(listener.address);
 * conn.close();
 * await listener.close();
 * ```
 */
export const tcpNetwork: Network = tcpNamed("tcp");
