/**
 * Consul's KV store as the command line sees it: keys `basePath/Service/network@host:port`
 * (no leading slash) as rpcx-consul writes them through libkv, each held by its server's
 * session.
 *
 * @module
 */
import { ConsulDiscovery } from "@rpcx/core/consul";
import type { ServiceDiscovery } from "../../registry/discovery.ts";
import { EndpointHealth } from "../../registry/_endpoint_health.ts";
import { CliError, ExitCode, unreachable } from "../errors.ts";
import {
  ChangeWaiters,
  encodeGoValues,
  nodeMissing,
  type RegistryAdmin,
  type ServerNode,
  sortNodes,
  splitNodePath,
} from "./registry.ts";

/** How long one Consul request may take, ms. */
const REQUEST_TIMEOUT = 5000;
/** How long connecting to one agent may take, ms (an agent that does not answer is avoided). */
const DIAL_TIMEOUT = 2000;
/** Compare-and-set rounds before giving up on a node that keeps changing. */
const CAS_TRIES = 5;

interface KvEntry {
  Key: string;
  Value: string | null;
  ModifyIndex: number;
}

/** A request that got no HTTP answer (refused, reset, timed out). */
class TransportFailure extends Error {}

/**
 * Opens the Consul agents at `servers` (`host:port`, or `https://host:port`) for base path
 * `basePath`. Requests go to an agent that answers, the next one after a transport failure.
 *
 * @example
 * ```ts
 * import { openConsul } from "@rpcx/core/cli";
 * const r = openConsul("consul://127.0.0.1:8500/rpcx_test", ["127.0.0.1:8500"], "/rpcx_test");
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export function openConsul(url: string, servers: string[], basePath: string): RegistryAdmin {
  const base = basePath.replace(/^\/+/, "").replace(/\/+$/, "") || "rpcx";
  const where = `consul ${servers.join(",")}`;
  const kvPath = (key: string, query: string) =>
    `/v1/kv/${key.split("/").map(encodeURIComponent).join("/")}${query}`;
  // Which agents answer (dialled at the first request: opening contacts nothing).
  let health: EndpointHealth | undefined;
  const agents = () => (health ??= new EndpointHealth(servers, {
    dialTimeout: DIAL_TIMEOUT,
    retryMs: 5000,
    defaultPort: 8500,
  }));
  const stop = new AbortController();

  /** `path` on an agent that answers; throws a CliError (exit 3) when none does. */
  async function request(
    path: string,
    init: RequestInit = {},
    timeout = REQUEST_TIMEOUT,
  ): Promise<Response> {
    try {
      return await agents().failover(
        async (endpoint) => {
          const agent = endpoint.includes("://") ? endpoint : `http://${endpoint}`;
          try {
            return await fetch(`${agent}${path}`, {
              ...init,
              signal: AbortSignal.any([stop.signal, AbortSignal.timeout(timeout)]),
            });
          } catch (e) {
            throw new TransportFailure(e instanceof Error ? e.message : String(e), { cause: e });
          }
        },
        (e) => e instanceof TransportFailure && !stop.signal.aborted,
        (endpoints) => new TransportFailure(`no agent reachable: ${endpoints}`),
      );
    } catch (e) {
      throw unreachable(where, e);
    }
  }

  async function entries(prefix: string): Promise<KvEntry[]> {
    const res = await request(kvPath(prefix, "?recurse=true"));
    if (res.status === 404) {
      await res.body?.cancel();
      return [];
    }
    if (!res.ok) throw unreachable(where, `${res.status} ${await res.text()}`);
    return await res.json() as KvEntry[];
  }

  const decode = (v: string | null) =>
    v === null ? "" : new TextDecoder().decode(Uint8Array.from(atob(v), (c) => c.charCodeAt(0)));

  // Change notifications: a blocking query on the base path while anybody waits.
  const waiters = new ChangeWaiters();
  let blocking: Promise<void> | undefined;
  async function block(): Promise<void> {
    let index = "0";
    while (waiters.size > 0 && !stop.signal.aborted) {
      try {
        const res = await request(
          kvPath(`${base}/`, `?recurse=true&keys=true&index=${index}&wait=30s`),
          {},
          40_000,
        );
        await res.body?.cancel();
        const next = res.headers.get("x-consul-index") ?? "0";
        if (index !== "0" && next !== index) waiters.wake();
        index = next;
      } catch {
        if (stop.signal.aborted) break;
        await new Promise((r) => setTimeout(r, 1000)); // unreachable: polling reports it
      }
    }
    blocking = undefined;
  }

  return {
    url,
    writable: true,
    async list(service?: string): Promise<ServerNode[]> {
      const prefix = service === undefined ? `${base}/` : `${base}/${service}/`;
      const nodes: ServerNode[] = [];
      for (const e of await entries(prefix)) {
        const parts = splitNodePath(e.Key.slice(base.length + 1));
        if (parts) nodes.push({ ...parts, metadata: decode(e.Value) });
      }
      return sortNodes(nodes);
    },
    async update(service, key, edit): Promise<string> {
      const path = `${base}/${service}/${key}`;
      for (let i = 0; i < CAS_TRIES; i++) {
        const res = await request(kvPath(path, ""));
        if (res.status === 404) {
          await res.body?.cancel();
          throw nodeMissing(service, key, url);
        }
        if (!res.ok) throw unreachable(where, `${res.status} ${await res.text()}`);
        const text = await res.text();
        const [entry] = JSON.parse(text) as KvEntry[];
        // Flags is a uint64 (libkv's lock flags exceed 2^53): keep its digits as Consul sent them.
        const flags = text.match(/"Flags"\s*:\s*(\d+)/)?.[1] ?? "0";
        const meta = new URLSearchParams(decode(entry.Value));
        edit(meta);
        const next = encodeGoValues(meta);
        // Same flags (libkv's lock flags) and no acquire/release: the session keeps the node.
        const put = await request(
          kvPath(path, `?cas=${entry.ModifyIndex}&flags=${flags}`),
          { method: "PUT", body: next },
        );
        const ok = (await put.text()).trim();
        if (!put.ok) throw unreachable(where, `${put.status} ${ok}`);
        if (ok === "true") return next;
      }
      throw new CliError(`${path} kept changing; not written`, ExitCode.Failed);
    },
    changed(signal: AbortSignal): Promise<void> {
      const p = waiters.wait(signal);
      blocking ??= block();
      return p;
    },
    discovery(service: string): ServiceDiscovery {
      return new ConsulDiscovery(basePath, service, servers);
    },
    async close(): Promise<void> {
      stop.abort();
      waiters.wake();
      await blocking;
      health?.close();
    },
  };
}
