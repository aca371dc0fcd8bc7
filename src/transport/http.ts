/**
 * The `http` network, as Go rpcx's: the client opens TCP (or TLS), sends
 * `CONNECT /_rpcx_ HTTP/1.0`, the server answers `HTTP/1.0 200 Connected to rpcx`, and the
 * connection carries rpcx frames from then on.
 *
 * @module
 */
import { DialError, UpgradeError } from "./errors.ts";
import {
  type Connection,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_RPC_PATH,
  type DialOptions,
  type Listener,
  type ListenOptions,
  type Network,
} from "./network.ts";
import { dialTcp, listenStream } from "./tcp.ts";
import { deadline, within } from "../_internal/async.ts";
import { PrefixedConnection, QueueListener, readHeader, writeAll } from "./_stream.ts";

/** Go's answer to a CONNECT on the rpcx path. */
export const HTTP_CONNECTED = "200 Connected to rpcx";

const enc = new TextEncoder();

/**
 * Accepts connections of `inner`, runs `upgrade` on each (answer the CONNECT, the WebSocket
 * upgrade), and yields the upgraded ones. A connection that has not finished its upgrade within
 * `timeoutMs` is closed.
 */
export function upgradeListener(
  inner: Listener,
  network: string,
  upgrade: (c: Connection) => Promise<Connection | undefined>,
  timeoutMs: number = DEFAULT_HANDSHAKE_TIMEOUT,
): Listener {
  const out = new QueueListener(network, inner.address, () => inner.close());
  void (async () => {
    for await (const c of inner) {
      // Not upgraded in time (undefined), refused, or failed: closed.
      within(upgrade(c), timeoutMs).then((u) => u ? out.push(u) : c.close(), () => c.close());
    }
  })();
  return out;
}

async function acceptConnect(c: Connection, path: string): Promise<Connection | undefined> {
  const { lines, rest } = await readHeader(c);
  const [method, target] = lines[0].split(" ");
  if (method !== "CONNECT") {
    await writeAll(
      c,
      enc.encode(
        "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n" +
          "Connection: close\r\nContent-Length: 16\r\n\r\n405 must CONNECT\n",
      ),
    );
    return undefined;
  }
  if (target !== path) {
    await writeAll(c, enc.encode("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
    return undefined;
  }
  await writeAll(c, enc.encode(`HTTP/1.0 ${HTTP_CONNECTED}\n\n`));
  return new PrefixedConnection(c, rest, "http");
}

/**
 * The `http` network (HTTP CONNECT to `/_rpcx_`, or `options.path`); TLS when the options carry
 * `tls`. Talks to Go rpcx's `http` network both ways.
 *
 * @example
 * ```ts
 * import { httpNetwork } from "@rpcx/core/extend";
 * const listener = await httpNetwork.listen("127.0.0.1:0");
 * console.log(listener.network); // "http"
 * listener.close();
 * ```
 */
export const httpNetwork: Network = {
  name: "http",
  async dial(address: string, options: DialOptions = {}): Promise<Connection> {
    const label = `http@${address}`;
    const timeout = options.timeout ?? 1000;
    const started = Date.now();
    const c = await dialTcp("http", address, timeout, options.tls);
    try {
      await writeAll(c, enc.encode(`CONNECT ${options.path ?? DEFAULT_RPC_PATH} HTTP/1.0\n\n`));
      const left = Math.max(timeout - (Date.now() - started), 1);
      const { lines, rest } = await deadline(readHeader(c), left, {
        onTimeout: () => new DialError(label, `no answer to CONNECT within ${timeout} ms`),
      });
      const status = lines[0].replace(/^HTTP\/1\.[01] /, "");
      if (status !== HTTP_CONNECTED) throw new UpgradeError(label, lines[0]);
      return new PrefixedConnection(c, rest, "http");
    } catch (e) {
      c.close();
      throw e instanceof DialError ? e : new DialError(label, (e as Error).message, { cause: e });
    }
  },
  async listen(address: string, options: ListenOptions = {}): Promise<Listener> {
    const inner = await listenStream("tcp", address, options);
    const path = options.path ?? DEFAULT_RPC_PATH;
    return upgradeListener(
      inner,
      "http",
      (c) => acceptConnect(c, path),
      options.handshakeTimeout,
    );
  },
};
