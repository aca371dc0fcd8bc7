/**
 * Sockets on `node:net` and `node:tls`: Node's and Bun's, and Deno's for what Deno's own socket
 * API cannot do (TLS, `reusePort` without `--unstable-net`; see `adapter/deno/sockets.ts`).
 * Both modules are loaded on first use.
 *
 * @module
 */
import process from "node:process";
import { joinHostPort } from "../../transport/address.ts";
import { DialTimeoutError } from "../../transport/errors.ts";
import {
  type Connection,
  DEFAULT_HANDSHAKE_TIMEOUT,
  type Listener,
} from "../../transport/network.ts";
import { QueueListener } from "../../transport/_stream.ts";
import type {
  SocketConnectOptions,
  SocketListenOptions,
  Sockets,
  SocketTarget,
} from "../../runtime/types.ts";
import { nodeDialError, nodeListenError } from "./errors.ts";
import {
  connectAttempt,
  GO_CLIENT_KEEPALIVE_PERIOD,
  GO_SERVER_KEEPALIVE_PERIOD,
  type NodeSocket,
  NodeSocketConnection,
  tune,
  type UnixEnds,
} from "./_socket.ts";
import { dialTls, tlsServerOptions } from "./tls.ts";

/** The part of a `node:net` `Server` used here. */
interface NodeServer {
  on(event: string, fn: (...args: never[]) => void): void;
  once(event: string, fn: (...args: never[]) => void): void;
  off(event: string, fn: (...args: never[]) => void): void;
  listen(options: Record<string, unknown>, cb: () => void): void;
  address(): unknown;
  close(): void;
}

/**
 * Whether `listen({ reusePort })` sets SO_REUSEPORT here: Bun and Deno's Node layer do; Node
 * only from 22.12 (before, it ignores the option and a second listener fails with EADDRINUSE).
 */
function reusePortWorks(): boolean {
  const v = process.versions as Record<string, string | undefined>;
  if (v.bun || v.deno) return true;
  const [major, minor] = (v.node ?? "0.0").split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

/** Connects a plain `node:net` socket (TCP or Unix) within `timeout` ms. */
async function connectPlain(target: SocketTarget, o: SocketConnectOptions): Promise<Connection> {
  const net = await import("node:net");
  const socket =
    (target.transport === "unix"
      ? net.connect({ path: target.path })
      : net.connect({ host: target.hostname, port: target.port })) as unknown as NodeSocket;
  const timedOut = () => new DialTimeoutError(o.label, o.timeout);
  return await connectAttempt(socket, "connect", o.timeout, timedOut, () => {
    if (target.transport === "unix") {
      return new NodeSocketConnection(socket, o.network, {
        localAddress: "",
        remoteAddress: target.path,
      });
    }
    tune(socket, o.keepAlive, GO_CLIENT_KEEPALIVE_PERIOD);
    return new NodeSocketConnection(socket, o.network);
  }).catch((e) => {
    throw nodeDialError(o.label, e);
  });
}

/**
 * Listens with `node:tls` (when `options.tls`) or `node:net`. A TLS connection is handed on once
 * its handshake is done; one that has not finished it within `options.handshakeTimeout` (default
 * {@linkcode DEFAULT_HANDSHAKE_TIMEOUT}) ms, or that fails it, is destroyed, and so are those still
 * in their handshake when the listener closes. With `tls.requireClientCert`, only clients with a
 * certificate signed by `tls.caCerts` get through.
 */
async function listen(target: SocketTarget, options: SocketListenOptions): Promise<Listener> {
  const tls = options.tls;
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  const serverOptions = tls ? tlsServerOptions(tls, handshakeTimeout) : undefined;
  if (options.reusePort && !reusePortWorks()) {
    throw new TypeError(
      `reusePort needs Node 22.12 or later (SO_REUSEPORT through net.listen); this is Node ${process.versions.node}`,
    );
  }
  const network = options.network;
  const server =
    (serverOptions
      ? (await import("node:tls")).createServer(serverOptions)
      : (await import("node:net")).createServer()) as unknown as NodeServer;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(
      target.transport === "unix"
        ? { path: target.path }
        : options.fd !== undefined
        ? { fd: options.fd }
        : {
          port: target.port,
          host: target.hostname,
          // Go listens with the system's maximum (net.core.somaxconn, 4096 on current Linux).
          backlog: options.backlog ?? 4096,
          ...(options.reusePort ? { reusePort: true } : {}),
        },
      () => {
        server.off("error", reject);
        resolve();
      },
    );
  }).catch((e) => {
    throw nodeListenError(target.transport, options.address, e);
  });
  let address: string;
  let unix: UnixEnds | undefined;
  if (target.transport === "unix") {
    address = target.path;
    unix = { localAddress: target.path, remoteAddress: "" };
  } else {
    const bound = server.address() as { address: string; port: number };
    address = joinHostPort(bound.address, bound.port);
  }
  // node:net keeps the listening socket's descriptor on its handle (Unix).
  const fd = (server as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  /** TLS connections in their handshake, by the peer's address (destroyed on close). */
  const handshaking = new Map<string, NodeSocket>();
  const peerKey = (s: NodeSocket) => `${s.remoteAddress}|${s.remotePort}`;
  const listener = new QueueListener(network, address, () => {
    // node:net frees the listening socket (and removes a Unix socket's path) in close() itself;
    // its callback waits for every accepted connection to end, which is not the port's business.
    server.close();
    for (const s of handshaking.values()) s.destroy();
    handshaking.clear();
  });
  if (typeof fd === "number" && fd >= 0 && target.transport === "tcp") listener.fd = fd;
  // A failed accept (e.g. too many open files) must not end the process.
  server.on("error", () => {});
  server.on("connection", (raw: NodeSocket) => {
    if (!unix) tune(raw, options.keepAlive, GO_SERVER_KEEPALIVE_PERIOD);
    if (!tls) return listener.push(new NodeSocketConnection(raw, network, unix));
    const key = peerKey(raw);
    handshaking.set(key, raw);
    raw.once("close", () => {
      if (handshaking.get(key) === raw) handshaking.delete(key);
    });
  });
  if (tls) {
    server.on("secureConnection", (s: NodeSocket) => {
      handshaking.delete(peerKey(s));
      listener.push(new NodeSocketConnection(s, network, unix));
    });
    // A handshake that failed or timed out (handshakeTimeout): Deno's node:tls reports it but
    // leaves the socket open; destroying it frees the socket.
    server.on("tlsClientError", (_e: unknown, s: NodeSocket) => s?.destroy());
  }
  return listener;
}

/** The Node adapter's sockets (Bun's too). */
export const nodeSockets: Sockets = {
  connect(target: SocketTarget, options: SocketConnectOptions): Promise<Connection> {
    if (options.tls && target.transport === "tcp") {
      return dialTls(
        options.label,
        options.network,
        target.hostname,
        target.port,
        options.timeout,
        options.tls,
        options.keepAlive,
      );
    }
    return connectPlain(target, options);
  },
  listen,
};
