/**
 * Lets registry clients (gRPC under etcd, https under Consul) reach an IP address over TLS in
 * Deno.
 *
 * grpc-js sets the TLS `servername` (SNI) to the host it dials. RFC 6066 forbids an IP address
 * there: Node ignores such a value (with a deprecation warning), Deno's `node:tls` rejects the
 * connection instead ("options.servername must not be an IP address"). This wraps
 * `tls.connect` once so an IP `servername` is dropped, which is what Node does; the
 * certificate is still checked against the IP (its subjectAltName). Nothing else changes.
 *
 * @module
 */
import { isIP } from "node:net";
import tls from "node:tls";

let installed = false;

/** Installs the wrapper (idempotent). */
export function allowIpEndpointsOverTls(): void {
  if (installed) return;
  installed = true;
  const connect = tls.connect;
  const wrapped = function (this: unknown, ...args: unknown[]) {
    const first = args[0] as { servername?: string } | undefined;
    if (first && typeof first === "object" && first.servername && isIP(first.servername)) {
      const { servername: _ip, ...rest } = first;
      args[0] = rest;
    }
    return (connect as (...a: unknown[]) => tls.TLSSocket).apply(this, args);
  };
  (tls as { connect: unknown }).connect = wrapped;
}
