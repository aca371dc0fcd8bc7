/**
 * Internal to the client: opening its connection on a network of the transport layer.
 *
 * @module
 */
import { type DecodeLimits, DEFAULT_DECODE_LIMITS, type Message } from "../protocol/message.ts";
import { FramedConnection } from "../transport/framed.ts";
import type { FramedConnectionHandlers } from "../transport/framed_options.ts";
import type { Connection, MessageLink } from "../transport/network.ts";
import { defaultNetworks } from "../transport/networks.ts";
import { ConnectionError } from "./errors.ts";
import type { Transport } from "./_calls.ts";
import type { ClientOptions } from "./options.ts";
import { logger } from "../log/logger.ts";

/** Each message the server sends on the connection. */
export type OnMessage = (msg: Message) => void | Promise<void>;
/** The connection's end, with the bad frame that ended it if one did. */
export type OnClosed = (transport: Transport, cause?: unknown) => void;

/** An opened connection and the server's address as Go's `RemoteAddr().String()` gives it. */
export interface Dialed {
  readonly transport: Transport;
  /** `host:port` of the peer (a socket path for unix; the name for in-process). */
  readonly server: string;
}

let warnedInsecure = false;

/** Logs once per process that TLS certificates are not verified (`tls.insecureSkipVerify`). */
function warnInsecure(address: string): void {
  if (warnedInsecure) return;
  warnedInsecure = true;
  logger().warn(
    "rpcx client: tls.insecureSkipVerify is set: server certificates are NOT verified, anyone " +
      "on the path can read and change the calls (for tests only; trust the CA with tls.caCerts)",
    { address },
  );
}

/**
 * The client's largest read buffer (the connection's default is 64 KiB). Replies to many calls
 * in flight arrive faster than a 64 KiB read drains them: against Go's server at 1000 calls of
 * 16 KiB in flight, 1 MiB reads took the client from ~85 to ~55 µs of CPU per call, the server
 * from ~180 to ~140 (its writes wait less on a full socket) and calls/s up by half. Buffers
 * still start small and grow only while reads fill them, so an idle connection stays small.
 */
const CLIENT_READ_BUFFER = 1 << 20;

/**
 * Dials `target` on `network` (`address` is `network@target`, for messages); resolves with the
 * connection and the server's address.
 *
 * @throws {ConnectionError} with the transport's typed error as its cause.
 */
export async function dialNetwork(
  network: string,
  target: string,
  address: string,
  options: ClientOptions,
  onMessage: OnMessage,
  onClosed: OnClosed,
): Promise<Dialed> {
  const networks = options.networks ?? defaultNetworks;
  if (!networks.has(network)) {
    throw new ConnectionError(`unsupported network ${network} in ${address}`);
  }
  let conn: Connection;
  try {
    if (options.tls?.insecureSkipVerify) warnInsecure(address);
    conn = await networks.get(network).dial(target, {
      timeout: options.connectTimeout ?? 1000,
      tls: options.tls,
      path: options.rpcPath,
      keepAlive: options.tcpKeepAlivePeriod,
    });
  } catch (e) {
    // The transport's typed error (ConnectionRefusedError, DialTimeoutError, TlsHandshakeError,
    // ...) is the cause; its text says what was dialed.
    throw new ConnectionError((e as Error).message, { cause: e });
  }
  const limits: DecodeLimits = {
    maxMessageLength: options.maxMessageLength ?? DEFAULT_DECODE_LIMITS.maxMessageLength,
    maxDecompressedLength: options.maxDecompressedLength ??
      DEFAULT_DECODE_LIMITS.maxDecompressedLength,
    gunzip: options.gunzip,
  };
  let failure: unknown;
  const handlers: FramedConnectionHandlers = {
    onMessage,
    // A bad frame from the server (too large, malformed, a gzip bomb): pending calls fail with
    // it as the cause.
    onError: (e) => (failure = e),
    onClose: () => onClosed(fc, failure),
  };
  const frame = { ...limits, encodeBatch: options.encodeBatch, readBufferSize: CLIENT_READ_BUFFER };
  // Framed, unless the connection carries whole messages itself (an in-memory pipe).
  const fc: MessageLink = conn.messageLink?.(handlers, frame) ??
    new FramedConnection(conn, handlers, frame);
  // Read once, before reading starts: a closed socket may no longer know its peer.
  let server = target;
  try {
    server = conn.remoteAddress || target;
  } catch {
    // closed already: the address dialed
  }
  fc.start();
  return { transport: fc, server };
}
