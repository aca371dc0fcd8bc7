/**
 * The admin page of `rpcx ui`: one small page (no build step) showing the services and
 * servers of one or more registries, updated live over Server-Sent Events, with buttons to
 * activate/deactivate a server and fields for its weight and group. Every change is written
 * in Go rpcx's layout (see `RegistryOperator.update`), so Go and Deno clients honour it.
 *
 * @module
 */
import { type FetchServer, serveFetch, SlowReaderError } from "../../_internal/serve_fetch.ts";
import { CliError, ExitCode } from "../errors.ts";
import { follow } from "../registry/follow.ts";
import { openRegistry, type RegistryCredentials } from "../registry/open.ts";
import {
  applyAssignments,
  confirmEdit,
  type NodeView,
  type RegistryOperator,
  type ServerNode,
  viewOf,
} from "../registry/registry.ts";
import { isLoopback, parseAuth, requestGuard, SECURITY_HEADERS } from "./guard.ts";
import { PAGE_HTML } from "./page.ts";

/**
 * Options of {@linkcode serveAdmin}.
 *
 * @example
 * ```ts
 * import type { AdminOptions } from "@rpcx/core/cli";
 * const o: AdminOptions = { registries: ["etcd://127.0.0.1:2379/rpcx_test"], addr: "127.0.0.1:8080" };
 * console.log(o.addr);
 * ```
 */
export interface AdminOptions {
  /** Registry URLs (see `parseRegistryUrl`). */
  registries: string[];
  /** Credentials for every registry URL that leaves them out (see `openRegistry`). */
  credentials?: RegistryCredentials;
  /** `host:port` to listen on (default `127.0.0.1:8080`; port 0 picks one). */
  addr?: string;
  /** How often each registry is listed, ms (default 1000). */
  interval?: number;
  /** After a change, when to check it stuck (see `confirmEdit`), ms (default 1000; 0: never). */
  settle?: number;
  /**
   * `user:pass`: every request must carry them (HTTP basic auth; the browser asks once).
   * Required when `addr` is not a loopback address, unless `noAuth`.
   */
  auth?: string;
  /** Serve an address beyond loopback without `auth` (your own access control guards it). */
  noAuth?: boolean;
  /**
   * Host names (without port) the page may be reached by, besides IP addresses, `localhost`
   * and `*.localhost`: requests naming another host in `Host` are refused (DNS rebinding).
   */
  allowHosts?: string[];
}

/**
 * A running admin page.
 *
 * @example
 * ```ts
 * import { serveAdmin } from "@rpcx/core/cli";
 * const ui = await serveAdmin({ registries: ["etcd://127.0.0.1:2379/rpcx_test"], addr: "127.0.0.1:0" });
 * console.log(ui.url);
 * await ui.shutdown();
 * ```
 */
export interface AdminServer {
  /** `http://host:port/`. */
  readonly url: string;
  /** Stops serving, ends the live streams, closes the registries (bounded). */
  shutdown(): Promise<void>;
}

/**
 * What the page receives: per registry, its servers or the error listing it. Each server comes
 * with its {@linkcode NodeView} (state, weight, groups), read here by Go's rules, so the page's
 * script parses no metadata.
 */
interface Snapshot {
  registries: {
    url: string;
    writable: boolean;
    error?: string;
    nodes: (ServerNode & NodeView)[];
  }[];
}

const withView = (n: ServerNode): ServerNode & NodeView => ({ ...n, ...viewOf(n) });

/**
 * Bytes of events waiting for one `/api/events` client (it does not read them) beyond which
 * its stream is ended rather than queued on.
 */
const MAX_EVENT_BACKLOG = 8 * 1024 * 1024;

/** Largest `/api/set` body, bytes: an edit is a few hundred bytes; more is refused (413). */
const MAX_SET_BODY = 64 * 1024;

/**
 * The text of `req`'s body, or undefined once it passes `limit` bytes (read no further: the
 * declared length is checked first, then what comes).
 */
async function boundedText(req: Request, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) {
    await req.body?.cancel().catch(() => {});
    return undefined;
  }
  if (!req.body) return "";
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  const reader = req.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    text += decoder.decode(value, { stream: true });
  }
}

function splitAddr(addr: string): { hostname: string; port: number } {
  const i = addr.lastIndexOf(":");
  const port = Number(addr.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(`--addr expects host:port, got "${addr}"`, ExitCode.Usage);
  }
  return { hostname: addr.slice(0, i).replace(/^\[|\]$/g, "") || "127.0.0.1", port };
}

/**
 * Serves the admin page (`node:http`, the same on Deno, Node and Bun). Routes: `GET /` the page, `GET /api/nodes` the current
 * snapshot, `GET /api/events` the snapshots as Server-Sent Events, `POST /api/set` with
 * `Content-Type: application/json` and
 * `{registry, service, key, set: ["state=inactive", "weight=3", "group=a"]}` → `{metadata}`
 * (400 bad request, 404 missing node, 415 not JSON, 502 registry unreachable).
 *
 * Requests from pages of other origins are refused with 403, and so are requests naming a
 * host other than an IP address, `localhost` or `allowHosts` (DNS rebinding); with `auth`,
 * requests without those credentials get 401.
 *
 * @throws {CliError} (exit code 2) no registry, a bad `addr` or `auth`, or an `addr` beyond
 * loopback without `auth` or `noAuth`; (exit code 1) `addr` cannot be listened on (taken, not
 * an address of this host, not allowed); what opening a registry throws.
 */
export async function serveAdmin(options: AdminOptions): Promise<AdminServer> {
  if (options.registries.length === 0) {
    throw new CliError("ui: give at least one --registry", ExitCode.Usage);
  }
  const addr = options.addr ?? "127.0.0.1:8080";
  const { hostname, port } = splitAddr(addr);
  if (options.auth !== undefined) parseAuth(options.auth);
  else if (!isLoopback(hostname) && !options.noAuth) {
    throw new CliError(
      `ui: --addr ${addr} is reachable from other machines and the page has no login: give ` +
        "--auth user:pass (or RPCX_UI_AUTH), or --no-auth if your own access control guards it",
      ExitCode.Usage,
    );
  }
  const guard = requestGuard({ auth: options.auth, allowHosts: options.allowHosts });
  const admins: RegistryOperator[] = [];
  try {
    for (const u of options.registries) admins.push(await openRegistry(u, options.credentials));
  } catch (e) {
    await Promise.all(admins.map((a) => a.close()));
    throw e;
  }
  const state: Snapshot = {
    registries: admins.map((a) => ({ url: a.url, writable: a.writable, nodes: [] })),
  };
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const encoder = new TextEncoder();
  const ac = new AbortController();
  const settleMs = options.settle ?? 1000;
  const checks = new Set<Promise<unknown>>();
  const pending = new Map<string, AbortController>();

  const broadcast = () => {
    const chunk = encoder.encode(`data: ${JSON.stringify(state)}\n\n`);
    for (const c of streams) {
      try {
        // A client that does not read its events: dropped once MAX_EVENT_BACKLOG bytes wait
        // for it (a browser's EventSource connects again and gets the whole state).
        if ((c.desiredSize ?? 0) + MAX_EVENT_BACKLOG < chunk.byteLength) {
          c.error(new SlowReaderError(`${MAX_EVENT_BACKLOG} bytes of events not read`));
          streams.delete(c);
          continue;
        }
        c.enqueue(chunk);
      } catch {
        streams.delete(c);
      }
    }
  };

  const followers = admins.map((admin, i) =>
    follow(admin, (list) => {
      state.registries[i].nodes = list.map(withView);
      state.registries[i].error = undefined;
      broadcast();
    }, {
      interval: options.interval ?? 1000,
      signal: ac.signal,
      onError: (e) => {
        const msg = (e as Error).message ?? String(e);
        if (state.registries[i].error !== msg) {
          state.registries[i].error = msg;
          broadcast();
        }
      },
    })
  );

  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
    });

  async function set(req: Request): Promise<Response> {
    const type = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (type !== "application/json") {
      return json({ error: "send the body with Content-Type: application/json" }, 415);
    }
    let body: { registry?: unknown; service?: unknown; key?: unknown; set?: unknown };
    const text = await boundedText(req, MAX_SET_BODY);
    if (text === undefined) {
      const res = json({ error: `body over ${MAX_SET_BODY} bytes` }, 413);
      res.headers.set("connection", "close"); // the rest of the body is not read
      return res;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      body = parsed !== null && typeof parsed === "object" ? parsed : {};
    } catch {
      return json({ error: "body is not JSON" }, 400);
    }
    const i = admins.findIndex((a) => a.url === body.registry);
    const { service, key } = body;
    const assignments = body.set;
    if (typeof body.registry === "string" && i < 0) {
      const served = admins.map((a) => a.url).join(", ");
      return json(
        { error: `registry ${body.registry} is not on this page (it shows ${served})` },
        404,
      );
    }
    if (
      i < 0 || typeof service !== "string" || typeof key !== "string" ||
      !Array.isArray(assignments) || !assignments.every((a) => typeof a === "string")
    ) {
      return json({ error: 'expected {registry, service, key, set: ["k=v"]}' }, 400);
    }
    try {
      applyAssignments(new URLSearchParams(), assignments);
      const metadata = await admins[i].update(
        service,
        key,
        (m) => applyAssignments(m, assignments),
      );
      // A server's refresh may write the old value back: check it stuck, in the background.
      // A newer edit of the same node stops the check of the older one.
      const id = `${i} ${service} ${key}`;
      pending.get(id)?.abort();
      const stop = new AbortController();
      pending.set(id, stop);
      const check = confirmEdit(
        admins[i],
        service,
        key,
        assignments,
        settleMs,
        metadata,
        stop.signal,
      )
        .catch(() => {}).finally(() => {
          checks.delete(check);
          if (pending.get(id) === stop) pending.delete(id);
        });
      checks.add(check);
      // Show the change at once rather than at the next poll.
      const nodes = state.registries[i].nodes;
      const at = nodes.findIndex((x) => x.service === service && x.key === key);
      if (at >= 0) nodes[at] = withView({ service, key, metadata });
      broadcast();
      return json({ metadata });
    } catch (e) {
      const status = e instanceof CliError
        ? e.exitCode === ExitCode.Usage ? 400 : e.exitCode === ExitCode.Failed ? 404 : 502
        : 500;
      return json({ error: (e as Error).message }, status);
    }
  }

  const route = (req: Request): Response | Promise<Response> => {
    const url = new URL(req.url);
    if (req.method === "GET" && url.pathname === "/") {
      return new Response(PAGE_HTML, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    if (req.method === "GET" && url.pathname === "/api/nodes") return json(state);
    if (req.method === "GET" && url.pathname === "/api/events") {
      let me: ReadableStreamDefaultController<Uint8Array>;
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          me = c;
          streams.add(c);
          c.enqueue(encoder.encode(`retry: 1000\ndata: ${JSON.stringify(state)}\n\n`));
        },
        cancel() {
          streams.delete(me);
        },
      }, new ByteLengthQueuingStrategy({ highWaterMark: 0 }));
      return new Response(stream, {
        headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
      });
    }
    if (req.method === "POST" && url.pathname === "/api/set") return set(req);
    return json({ error: "not found" }, 404);
  };

  const handle = async (req: Request): Promise<Response> => {
    const refused = guard(req);
    const res = refused ? json({ error: refused.error }, refused.status) : await route(req);
    if (refused?.status === 401) {
      res.headers.set("www-authenticate", 'Basic realm="rpcx ui", charset="UTF-8"');
    }
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.headers.set(k, v);
    return res;
  };
  let server: FetchServer;
  try {
    server = await serveFetch({ hostname, port, name: "rpcx ui" }, handle);
  } catch (e) {
    ac.abort();
    await Promise.all(followers);
    await Promise.all(admins.map((a) => a.close()));
    const why = (e as { code?: string }).code === "EADDRINUSE"
      ? "address already in use"
      : (e as Error).message ?? String(e);
    throw new CliError(`ui: cannot listen on ${addr}: ${why}`, ExitCode.Failed, { cause: e });
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://${server.addr}/`,
    shutdown() {
      closing ??= (async () => {
        ac.abort();
        for (const c of streams) {
          try {
            c.close();
          } catch {
            // already closed
          }
        }
        streams.clear();
        await server.shutdown();
        await Promise.all(followers);
        for (const stop of pending.values()) stop.abort();
        await Promise.all(checks);
        await Promise.all(admins.map((r) => r.close()));
      })();
      return closing;
    },
  };
}
