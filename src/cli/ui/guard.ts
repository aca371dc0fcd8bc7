/**
 * Who may use the admin page: the checks every request passes before `rpcx ui` answers it.
 *
 * A browser sends requests for any page it shows, to any address, loopback included. So the
 * admin server answers only requests it can tell came from its own page or from a client that
 * is not a browser (curl, scripts):
 *
 * - **Host** (DNS rebinding): the `Host` header must be an IP address, `localhost`,
 *   `*.localhost` or a name given in `allowHosts`. A page that rebinds its own DNS name to the
 *   admin's address is same-origin with it as far as the browser knows; only its name in
 *   `Host` gives it away, and an IP address cannot be rebound.
 * - **Origin** (cross-site request forgery, cross-origin reads): Go's
 *   `net/http.CrossOriginProtection` (Go 1.25), applied to every method: `Sec-Fetch-Site`, when
 *   sent, must be `same-origin` or `none`; otherwise `Origin`, when sent, must name the host in
 *   `Host`. A request with neither is not from a page of another origin (browsers send one of
 *   them on every cross-origin request that could write or read). One exception: a top-level
 *   navigation to `/` (a link to the page from elsewhere) loads the page.
 * - **Credentials**, when configured: HTTP basic auth (`user:pass`).
 *
 * Responses also tell the browser not to frame the page, not to sniff types and not to hand
 * them to other origins.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { CliError, ExitCode } from "../errors.ts";

/** What a refused request gets: status and the one-line reason. */
export interface Refusal {
  status: 401 | 403;
  error: string;
}

/** The checks of one admin server. */
export interface GuardOptions {
  /** `user:pass` for HTTP basic auth; none when undefined. */
  auth?: string;
  /** More host names (without port) the page may be reached by; IP addresses and localhost always. */
  allowHosts?: readonly string[];
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The host name of a `Host` header value (`name:port`, `[v6]:port`), lower case, no final dot. */
function hostName(host: string): string {
  const h = host.toLowerCase();
  const name = h.startsWith("[") ? h.slice(0, h.indexOf("]") + 1) : h.replace(/:\d*$/, "");
  return name.replace(/\.$/, "");
}

/** Whether `hostname` (a bind address) only accepts connections from this machine. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || (IPV4.test(h) && h.startsWith("127."));
}

/** Checks `user:pass` (the user may not contain `:`; both non-empty). */
export function parseAuth(auth: string): string {
  const i = auth.indexOf(":");
  if (i <= 0 || i === auth.length - 1) {
    throw new CliError("--auth expects user:pass (both non-empty)", ExitCode.Usage);
  }
  return auth;
}

const digest = (b: Uint8Array) => createHash("sha256").update(b).digest();

/**
 * Builds the request check of an admin server: returns why a request is refused, or
 * undefined to serve it.
 */
export function requestGuard(options: GuardOptions): (req: Request) => Refusal | undefined {
  const allowed = new Set((options.allowHosts ?? []).map((h) => h.toLowerCase()));
  const want = options.auth === undefined
    ? undefined
    : digest(new TextEncoder().encode(parseAuth(options.auth)));

  const hostAllowed = (name: string) =>
    IPV4.test(name) || name.startsWith("[") || name === "localhost" ||
    name.endsWith(".localhost") || allowed.has(name);

  const crossOrigin = (req: Request, host: string | null): boolean => {
    const site = req.headers.get("sec-fetch-site");
    if (site !== null) return site !== "same-origin" && site !== "none";
    const origin = req.headers.get("origin");
    if (origin === null) return false;
    try {
      return host === null || new URL(origin).host !== host.toLowerCase();
    } catch {
      return true; // "null" (sandboxed frames, file: pages) or garbage
    }
  };

  const authorized = (req: Request): boolean => {
    if (want === undefined) return true;
    const m = /^basic\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
    if (!m) return false;
    let got: Uint8Array;
    try {
      got = Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0));
    } catch {
      return false;
    }
    return timingSafeEqual(digest(got), want);
  };

  return (req) => {
    const host = req.headers.get("host");
    if (host !== null && !hostAllowed(hostName(host))) {
      return {
        status: 403,
        error: `Host "${host}" is not allowed: reach the page by IP address or localhost, ` +
          `or start rpcx ui with --allow-host ${hostName(host)}`,
      };
    }
    const page = (req.method === "GET" || req.method === "HEAD") &&
      new URL(req.url).pathname === "/" &&
      req.headers.get("sec-fetch-mode") === "navigate" &&
      req.headers.get("sec-fetch-dest") === "document";
    if (!page && crossOrigin(req, host)) {
      return {
        status: 403,
        error: "cross-origin request refused: only the page rpcx ui serves, or a client " +
          "that is not a browser, may use it",
      };
    }
    if (!authorized(req)) return { status: 401, error: "give the user and password of --auth" };
    return undefined;
  };
}

/** Headers on every answer: no framing, no type sniffing, not readable by other origins. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-frame-options": "DENY",
  "content-security-policy": "frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "cross-origin-resource-policy": "same-origin",
};
