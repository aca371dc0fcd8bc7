/**
 * TLS on `node:tls` (Node, Bun, and Deno, whose own TLS cannot free a socket still in its
 * handshake nor ask for client certificates): the server options, and a dial that resolves once
 * the handshake is done.
 *
 * Why Deno uses it too: a `Deno.TlsConn` whose handshake has not finished cannot be freed
 * (`close()` leaves the socket open until the peer leaves, Deno 2.x, both sides), so a peer that
 * connects to a TLS port and sends nothing would hold a socket for ever, and a dial that timed
 * out would leave its socket behind. `node:tls` bounds a server's handshake (`handshakeTimeout`:
 * Go sets the connection's read deadline before its handshake), frees a destroyed socket at once,
 * asks for client certificates (mutual TLS), and accepts a self-signed server certificate that is
 * its own CA (`openssl req -x509` makes one with CA:TRUE), as Go's client does, where rustls under
 * `Deno.connectTls` refuses it (`CaUsedAsEndEntity`).
 *
 * @module
 */
import {
  ConnectionRefusedError,
  DialError,
  DialTimeoutError,
  TlsHandshakeError,
} from "../../transport/errors.ts";
import type { Connection, TlsOptions } from "../../transport/network.ts";
import { errorCode } from "./errors.ts";
import {
  connectAttempt,
  GO_CLIENT_KEEPALIVE_PERIOD,
  type NodeSocket,
  NodeSocketConnection,
  tune,
} from "./_socket.ts";

/**
 * `tls.createServer` options for our {@linkcode TlsOptions}; throws `TypeError` when the
 * certificate or key is missing, or the client CAs of mutual TLS.
 */
export function tlsServerOptions(
  tls: TlsOptions,
  handshakeTimeout: number,
): Record<string, unknown> {
  if (!tls.certChain || !tls.privateKey) {
    throw new TypeError("listen with TLS: tls.certChain and tls.privateKey are required");
  }
  if (tls.requireClientCert && !tls.caCerts?.length) {
    throw new TypeError(
      "mutual TLS: tls.certChain, tls.privateKey and tls.caCerts (the client CAs) are required",
    );
  }
  return {
    cert: tls.certChain,
    key: tls.privateKey,
    handshakeTimeout,
    ...(tls.requireClientCert
      ? { ca: tls.caCerts, requestCert: true, rejectUnauthorized: true }
      : {}),
  };
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
  keepAlive?: number,
): Promise<Connection> {
  const nodeTls = await import("node:tls");
  const { isIP } = await import("node:net");
  const serverName = tls.serverName ?? hostname;
  const socket = nodeTls.connect({
    host: hostname,
    port,
    // RFC 6066: no IP address as SNI (Deno's node:tls refuses one); the certificate is still
    // checked against it.
    ...(isIP(serverName) ? {} : { servername: serverName }),
    ...(tls.caCerts?.length ? { ca: tls.caCerts } : {}),
    ...(tls.certChain && tls.privateKey ? { cert: tls.certChain, key: tls.privateKey } : {}),
    // Go's InsecureSkipVerify: any certificate is accepted (documented as unsafe).
    ...(tls.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
  }) as unknown as NodeSocket;
  let connected = false;
  socket.once("connect", () => {
    connected = true;
    tune(socket, keepAlive, GO_CLIENT_KEEPALIVE_PERIOD);
  });
  const timedOut = () => new DialTimeoutError(label, timeout);
  return await connectAttempt(
    socket,
    "secureConnect",
    timeout,
    timedOut,
    () => new NodeSocketConnection(socket, network),
  ).catch((e) => {
    if (e instanceof DialTimeoutError) throw e;
    const detail = (e as Error)?.message ?? String(e);
    const code = errorCode(e);
    if (connected) throw new TlsHandshakeError(label, detail + tlsHint(code), { cause: e });
    throw code === "ECONNREFUSED"
      ? new ConnectionRefusedError(label, { cause: e })
      : new DialError(label, detail, { cause: e });
  });
}
