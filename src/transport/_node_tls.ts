/**
 * Internal: a TLS listener that requires and verifies client certificates (mutual TLS). Deno's
 * own `Deno.listenTls` cannot ask for client certificates, so this one runs on `node:tls`
 * (Deno's Node compatibility layer, loaded only when mutual TLS is asked for).
 *
 * @module
 */
import { joinHostPort, splitHostPort } from "./address.ts";
import type { Connection, Listener, TlsOptions } from "./network.ts";
import { QueueListener } from "./_stream.ts";

interface NodeSocket {
  remoteAddress?: string;
  remotePort?: number;
  localAddress?: string;
  localPort?: number;
  on(event: string, fn: (arg?: unknown) => void): void;
  write(data: Uint8Array, cb: (err?: unknown) => void): boolean;
  pause(): void;
  resume(): void;
  destroy(): void;
}

const HIGH_WATER = 256 * 1024;

/** A `node:tls` socket as a {@linkcode Connection}. */
class NodeSocketConnection implements Connection {
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

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#error !== undefined) throw this.#error;
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
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.reject(new Deno.errors.BrokenPipe("socket closed"));
    const copy = p.slice();
    return new Promise((resolve, reject) => {
      this.#socket.write(copy, (err) => (err ? reject(err) : resolve(copy.byteLength)));
    });
  }

  close(): void {
    this.#ended = true;
    this.#socket.destroy();
    this.#wake();
  }
}

/** Listens with TLS on `address`, accepting only clients with a certificate signed by `caCerts`. */
export async function listenMutualTls(
  network: string,
  address: string,
  tls: TlsOptions,
): Promise<Listener> {
  if (!tls.certChain || !tls.privateKey || !tls.caCerts?.length) {
    throw new TypeError(
      "mutual TLS: tls.certChain, tls.privateKey and tls.caCerts (the client CAs) are required",
    );
  }
  const nodeTls = await import("node:tls");
  const { hostname, port } = splitHostPort(address);
  const server = nodeTls.createServer({
    cert: tls.certChain,
    key: tls.privateKey,
    ca: tls.caCerts,
    requestCert: true,
    rejectUnauthorized: true,
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => resolve());
  });
  const bound = server.address() as { address: string; port: number };
  const listener = new QueueListener(
    network,
    joinHostPort(bound.address, bound.port),
    () => server.close(),
  );
  server.on("secureConnection", (s: unknown) => {
    listener.push(new NodeSocketConnection(s as NodeSocket, network));
  });
  // A client without a valid certificate fails its handshake; nothing reaches the server.
  server.on("tlsClientError", () => {});
  return listener;
}
