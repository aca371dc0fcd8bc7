/**
 * Internal: sockets on Deno's Node compatibility layer (`node:tls`, `node:net`, loaded only when
 * used), for what Deno's own socket API cannot do:
 *
 * - **Every TLS listener and TLS dial.** A `Deno.TlsConn` whose handshake has not finished cannot
 *   be freed: `close()` leaves the socket open until the peer leaves (Deno 2.x, both sides). A peer
 *   that connects to a TLS port and sends nothing, or half a ClientHello, would hold a socket for
 *   ever, and a dial that timed out would leave its socket behind. Here a server's handshake is
 *   bounded (`handshakeTimeout`: Go sets the connection's read deadline before its handshake) and
 *   a destroyed socket is freed at once. `node:tls` also asks for client certificates (mutual TLS),
 *   which `Deno.listenTls` cannot, and accepts a self-signed server certificate that is its own CA
 *   (`openssl req -x509 ...` makes one with CA:TRUE), as Go's client does, where rustls under
 *   `Deno.connectTls` refuses it (`CaUsedAsEndEntity`).
 * - **`reusePort` without `--unstable-net`**: `Deno.listen({ reusePort })` ends the process when
 *   Deno runs without that flag; `node:net`'s `listen({ reusePort })` sets SO_REUSEPORT without it.
 *
 * @module
 */
import { joinHostPort, splitHostPort } from "./address.ts";
import {
  ConnectionRefusedError,
  DialError,
  DialTimeoutError,
  PeerGoneError,
  type SocketError,
  TlsHandshakeError,
} from "./errors.ts";
import { errorCode, nodeListenError, nodeSocketError } from "../adapter/node/errors.ts";
import {
  type Connection,
  DEFAULT_HANDSHAKE_TIMEOUT,
  type Listener,
  type ListenOptions,
  type TlsOptions,
} from "./network.ts";
import { QueueListener } from "./_stream.ts";

interface NodeSocket {
  remoteAddress?: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
  on(event: string, fn: (arg?: unknown) => void): void;
  once(event: string, fn: (arg?: unknown) => void): void;
  off(event: string, fn: (arg?: unknown) => void): void;
  write(data: Uint8Array, cb: (err?: unknown) => void): boolean;
  pause(): void;
  resume(): void;
  destroy(): void;
  setNoDelay?(noDelay: boolean): void;
  setKeepAlive?(enable: boolean): void;
}

interface NodeServer {
  on(event: string, fn: (...args: never[]) => void): void;
  once(event: string, fn: (...args: never[]) => void): void;
  off(event: string, fn: (...args: never[]) => void): void;
  listen(options: Record<string, unknown>, cb: () => void): void;
  address(): unknown;
  close(): void;
}

const HIGH_WATER = 256 * 1024;

/** A `node:net`/`node:tls` socket as a {@linkcode Connection}. */
export class NodeSocketConnection implements Connection {
  readonly network: string;
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly #socket: NodeSocket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: unknown;
  #waiter: (() => void) | undefined;

  constructor(socket: NodeSocket, network: string) {
    this.#socket = socket;
    this.network = network;
    this.localAddress = joinHostPort(socket.localAddress ?? "", socket.localPort ?? 0);
    this.remoteAddress = joinHostPort(socket.remoteAddress ?? "", socket.remotePort ?? 0);
    socket.on("data", (d) => {
      const chunk = d as Uint8Array;
      this.#chunks.push(chunk);
      this.#buffered += chunk.byteLength;
      if (this.#buffered > HIGH_WATER) socket.pause();
      this.#wake();
    });
    socket.on("end", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#wake();
    });
    socket.on("error", (e) => {
      this.#error ??= e;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  #failure(op: "read" | "write", e: unknown): SocketError {
    return nodeSocketError(e, {
      op,
      network: this.network,
      localAddress: this.localAddress,
      remoteAddress: this.remoteAddress,
    });
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== undefined) throw this.#failure("read", this.#error);
      if (this.#ended) return null;
      await new Promise<void>((r) => (this.#waiter = r));
    }
    const head = this.#chunks[0];
    const n = Math.min(p.byteLength, head.byteLength);
    p.set(head.subarray(0, n));
    if (n === head.byteLength) this.#chunks.shift();
    else this.#chunks[0] = head.subarray(n);
    this.#buffered -= n;
    if (this.#buffered <= HIGH_WATER / 2) this.#socket.resume();
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#error !== undefined) return Promise.reject(this.#failure("write", this.#error));
    if (this.#ended) {
      return Promise.reject(
        new PeerGoneError({
          op: "write",
          network: this.network,
          localAddress: this.localAddress,
          remoteAddress: this.remoteAddress,
        }, "broken-pipe"),
      );
    }
    const copy = p.slice();
    return new Promise((resolve, reject) => {
      this.#socket.write(
        copy,
        (err) => (err ? reject(this.#failure("write", err)) : resolve(copy.byteLength)),
      );
    });
  }

  close(): void {
    this.#ended = true;
    this.#socket.destroy();
    this.#wake();
  }
}

/** Sets TCP_NODELAY (as Go does on every TCP connection) and keep-alive; best effort. */
function tune(socket: NodeSocket): void {
  try {
    socket.setNoDelay?.(true);
    socket.setKeepAlive?.(true);
  } catch {
    // not fatal
  }
}

/**
 * Listens on `address` with `node:tls` (when `options.tls`) or `node:net`. A TLS connection is
 * handed on once its handshake is done; one that has not finished it within
 * `options.handshakeTimeout` (default {@linkcode DEFAULT_HANDSHAKE_TIMEOUT}) ms, or that fails it,
 * is destroyed, and so are those still in their handshake when the listener closes. With
 * `tls.requireClientCert`, only clients with a certificate signed by `tls.caCerts` get through.
 */
export async function listenNode(
  network: string,
  address: string,
  options: ListenOptions,
): Promise<Listener> {
  const tls = options.tls;
  if (tls && (!tls.certChain || !tls.privateKey)) {
    throw new TypeError("listen with TLS: tls.certChain and tls.privateKey are required");
  }
  if (tls?.requireClientCert && !tls.caCerts?.length) {
    throw new TypeError(
      "mutual TLS: tls.certChain, tls.privateKey and tls.caCerts (the client CAs) are required",
    );
  }
  const { hostname, port } = splitHostPort(address);
  const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  let server: NodeServer;
  if (tls) {
    const nodeTls = await import("node:tls");
    server = nodeTls.createServer({
      cert: tls.certChain,
      key: tls.privateKey,
      handshakeTimeout,
      ...(tls.requireClientCert
        ? { ca: tls.caCerts, requestCert: true, rejectUnauthorized: true }
        : {}),
    }) as unknown as NodeServer;
  } else {
    const nodeNet = await import("node:net");
    server = nodeNet.createServer() as unknown as NodeServer;
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({
      port,
      host: hostname,
      // As Deno.listen's tcpBacklog in tcp.ts: Go listens with the system's maximum.
      backlog: options.backlog ?? 4096,
      ...(options.reusePort ? { reusePort: true } : {}),
    }, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((e) => {
    throw nodeListenError("tcp", address, e);
  });
  const bound = server.address() as { address: string; port: number };
  /** TLS connections in their handshake, by the peer's address (destroyed on close). */
  const handshaking = new Map<string, NodeSocket>();
  const peerKey = (s: NodeSocket) => `${s.remoteAddress}|${s.remotePort}`;
  const listener = new QueueListener(network, joinHostPort(bound.address, bound.port), () => {
    server.close();
    for (const s of handshaking.values()) s.destroy();
    handshaking.clear();
    // node:net frees the listening socket in close() itself (the callback waits for every
    // accepted connection to end, which is the server's business, not the port's).
  });
  // A failed accept (e.g. too many open files) must not end the process.
  server.on("error", () => {});
  server.on("connection", (raw: NodeSocket) => {
    tune(raw);
    if (!tls) return listener.push(new NodeSocketConnection(raw, network));
    const key = peerKey(raw);
    handshaking.set(key, raw);
    raw.once("close", () => {
      if (handshaking.get(key) === raw) handshaking.delete(key);
    });
  });
  if (tls) {
    server.on("secureConnection", (s: NodeSocket) => {
      handshaking.delete(peerKey(s));
      listener.push(new NodeSocketConnection(s, network));
    });
    // A handshake that failed or timed out (handshakeTimeout): Deno's node:tls reports it but
    // leaves the socket open; destroying it frees the socket.
    server.on("tlsClientError", (_e: unknown, s: NodeSocket) => s?.destroy());
  }
  return listener;
}

/** What to do about a certificate the client refused, by the TLS stack's error code. */
function tlsHint(code: string | undefined): string {
  switch (code) {
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      return " (trust the CA that signed the server's certificate, or that self-signed " +
        "certificate itself, with tls.caCerts)";
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return " (the certificate is for other names: dial one it carries, or set tls.serverName)";
    case "CERT_HAS_EXPIRED":
    case "CERT_NOT_YET_VALID":
      return " (the server's certificate is outside its validity period)";
  }
  return "";
}

/**
 * Dials `hostname:port` with TLS; resolves once the handshake is done (the server's certificate
 * verified against `tls.caCerts` when given, as Go's `RootCAs`, else the default roots; its
 * names against `tls.serverName` or `hostname`). Rejects with `ConnectionRefusedError`,
 * `DialTimeoutError` after `timeout` ms (the socket is freed), `TlsHandshakeError` (its message
 * says what to do when the certificate was refused) or another `DialError`.
 */
export async function dialTls(
  label: string,
  network: string,
  hostname: string,
  port: number,
  timeout: number,
  tls: TlsOptions,
): Promise<Connection> {
  const nodeTls = await import("node:tls");
  const { isIP } = await import("node:net");
  const serverName = tls.serverName ?? hostname;
  return await new Promise<Connection>((resolve, reject) => {
    let connected = false;
    const socket = nodeTls.connect({
      host: hostname,
      port,
      // RFC 6066: no IP address as SNI (Deno's node:tls refuses one); the certificate is still
      // checked against it.
      ...(isIP(serverName) ? {} : { servername: serverName }),
      ...(tls.caCerts?.length ? { ca: tls.caCerts } : {}),
      ...(tls.certChain && tls.privateKey ? { cert: tls.certChain, key: tls.privateKey } : {}),
    }) as unknown as NodeSocket;
    const fail = (e: DialError) => {
      clearTimeout(timer);
      socket.off("error", onError);
      socket.on("error", () => {});
      socket.destroy();
      reject(e);
    };
    const onError = (e: unknown) => {
      const detail = (e as Error)?.message ?? String(e);
      const code = errorCode(e);
      if (!connected) {
        fail(
          code === "ECONNREFUSED"
            ? new ConnectionRefusedError(label, { cause: e })
            : new DialError(label, detail, { cause: e }),
        );
      } else {
        fail(new TlsHandshakeError(label, detail + tlsHint(code), { cause: e }));
      }
    };
    const timer = setTimeout(() => fail(new DialTimeoutError(label, timeout)), timeout);
    socket.once("connect", () => {
      connected = true;
      tune(socket);
    });
    socket.on("error", onError);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      resolve(new NodeSocketConnection(socket, network));
    });
  });
}
