/**
 * A small HTTP/1.1 server for fetch-style handlers (`Request` in, `Response` out) on
 * `node:http`, which serves the same on Deno, Node and Bun, so it needs no runtime adapter.
 * npm's `@remix-run/node-fetch-server` converts requests and responses (bodies streamed both
 * ways with backpressure; a response body is cancelled when its client goes away). The metrics
 * endpoint (`serveMetrics`) and the admin page (`rpcx ui`) use it.
 *
 * @module
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import { createRequestListener } from "@remix-run/node-fetch-server";
import { logger } from "../log/logger.ts";
import { RpcxError } from "../protocol/errors.ts";

/**
 * Ends a streamed answer whose client does not read it (its backlog passed a bound): logged as
 * a warning naming the client's fault, not as a failure of the handler.
 */
export class SlowReaderError extends RpcxError {}

/** How long {@linkcode FetchServer.shutdown} lets requests in progress finish by default, ms. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 5000;

/** Where and how {@linkcode serveFetch} serves. */
export interface ServeFetchOptions {
  /** The address to bind (an IP address or a name; `0.0.0.0`/`::` for every interface). */
  hostname: string;
  /** The TCP port (0: one the OS picks). */
  port: number;
  /**
   * How long `shutdown()` lets requests in progress finish before it closes their connections,
   * ms (default {@linkcode DEFAULT_SHUTDOWN_GRACE_MS}).
   */
  shutdownGraceMs?: number;
  /** Names the server in the log record of a handler that throws (default `http`). */
  name?: string;
}

/** A running {@linkcode serveFetch} server. */
export interface FetchServer {
  /** The bound IP address (`127.0.0.1`, `::1`, ...). */
  readonly hostname: string;
  /** The bound port. */
  readonly port: number;
  /** `host:port`, with an IPv6 address in brackets. */
  readonly addr: string;
  /**
   * Stops taking connections and closes idle ones at once; a request in progress gets up to
   * the grace period to finish (its connection closes when it does), then every connection is
   * closed. Resolves when the server is closed; repeat calls return the same promise.
   */
  shutdown(): Promise<void>;
}

/**
 * Serves `handler` over HTTP/1.1 on `options.hostname:options.port`. Resolves once the server
 * listens. A handler that throws gets a 500 answer and a log record (`logger().error`).
 *
 * @example
 * ```ts
 * import { serveFetch } from "./serve_fetch.ts";
 * const server = await serveFetch({ hostname: "127.0.0.1", port: 0 }, () => new Response("hi"));
 * console.log(await (await fetch(`http://${server.addr}/`)).text()); // "hi"
 * await server.shutdown();
 * ```
 *
 * @throws the listen error as `node:http` reports it, on every runtime an `Error` with a `code`:
 * `EADDRINUSE` (the port is taken), `EADDRNOTAVAIL` (not an address of this host; `EINVAL` on
 * Deno), `EACCES` (a port below 1024 without the right), `ENOTFOUND` (a name that does not
 * resolve), ...
 */
export async function serveFetch(
  options: ServeFetchOptions,
  handler: (req: Request) => Response | Promise<Response>,
): Promise<FetchServer> {
  const name = options.name ?? "http";
  let closing = false;
  // Open connections and how many requests each is serving. Closing idle ones is done here, not
  // with closeIdleConnections(): Deno's node:http misses a kept-alive connection that has
  // served a second request, and shutdown would then wait for the client to hang up.
  const open = new Map<Duplex, number>();
  const server = http.createServer();
  server.on("connection", (socket: Duplex) => {
    open.set(socket, 0);
    socket.once("close", () => open.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (e: Error) => reject(e);
    server.once("error", failed);
    server.listen({ host: options.hostname, port: options.port }, () => {
      server.off("error", failed);
      resolve();
    });
  });
  const bound = server.address() as { address: string; port: number };
  const host = bound.address.includes(":") ? `[${bound.address}]` : bound.address;
  const addr = `${host}:${bound.port}`;
  const listener = createRequestListener(handler, {
    // Request URLs name the bound address, whatever the Host header says (handlers that care
    // about Host read the header).
    host: addr,
    onError: (e) => {
      if (e instanceof SlowReaderError) {
        logger().warn(`${name}: a client that does not read was dropped`, { error: e.message });
      } else logger().error(`${name}: the request handler failed`, { error: String(e) });
    },
  });
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    open.set(socket, (open.get(socket) ?? 0) + 1);
    if (closing) res.setHeader("connection", "close");
    res.once("close", () => {
      const left = (open.get(socket) ?? 1) - 1;
      if (open.has(socket)) open.set(socket, left);
      // The last answer of a connection after shutdown() began: close it once written.
      if (closing && left === 0) socket.end();
    });
    listener(req, res);
  });
  server.on("error", (e) => logger().warn(`${name}: server error`, { error: String(e) }));

  let closed: Promise<void> | undefined;
  return {
    hostname: bound.address,
    port: bound.port,
    addr,
    shutdown() {
      return closed ??= new Promise<void>((resolve) => {
        closing = true;
        const force = setTimeout(() => {
          for (const socket of open.keys()) socket.destroy();
        }, options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        for (const [socket, requests] of open) if (requests === 0) socket.destroy();
      });
    },
  };
}
