/**
 * Consul's KV store for an operator (`rpcx list/watch/set/ui`): keys
 * `basePath/Service/network@host:port` (no leading slash) as rpcx-consul writes them through
 * libkv, each held by its server's session, reached through the plugin's own HTTP client
 * (https, client certificates, ACL token, several agents).
 *
 * @module
 */
import { delay } from "../../_internal/async.ts";
import type { ServiceDiscovery } from "../discovery.ts";
import {
  ChangeWaiters,
  checkTarget,
  encodeGoValues,
  nodeBusy,
  nodeMissing,
  type OperatorTarget,
  type RegistryOperator,
  type ServerNode,
  sortNodes,
  splitNodePath,
  unreachableError,
} from "../operator.ts";
import { parseMetadata } from "../metadata.ts";
import { ConsulDiscovery } from "./discovery.ts";
import { CONSUL_LOCK_FLAGS, type ConsulClientOptions, ConsulError, ConsulHttp } from "./http.ts";

/** Compare-and-set rounds before giving up on a node that keeps changing. */
const CAS_TRIES = 5;
/** How long one blocking query of `changed` waits, ms. */
const WAIT_MS = 30_000;

/** A node's flags to write back: libkv's lock flags (a uint64 above 2^53) kept exactly. */
function flagsOf(flags: number | undefined): string {
  if (flags === undefined) return "0";
  return Number.isSafeInteger(flags) ? String(flags) : CONSUL_LOCK_FLAGS;
}

/**
 * Opens the Consul agents of `target` (`consul://h:8500/base`, `consul+tls://h:8501/base?ca=…&
 * cert=…&key=…&token=…`; `dc` picks the datacenter). Requests go to an agent that answers, the
 * next one after a transport failure. Nothing is contacted before the first call.
 *
 * @example
 * ```ts
 * import { openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("consul+tls://127.0.0.1:8501/rpcx_test?ca=ca.pem&token=secret");
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export function openOperator(target: OperatorTarget): RegistryOperator {
  checkTarget(target, {
    username: "Consul takes an ACL token (token=…), not a user",
    password: "Consul takes an ACL token (token=…), not a password",
  }, ["dc"]);
  const options: ConsulClientOptions = {
    token: target.token,
    datacenter: target.params.get("dc") ?? undefined,
  };
  if (target.tls) options.tls = { ca: target.ca, cert: target.cert, key: target.key };
  const servers = target.tls
    ? target.servers.map((s) => (/^https?:\/\//i.test(s) ? s : `https://${s}`))
    : target.servers;
  const { url, basePath } = target;
  const base = basePath.replace(/^\/+/, "").replace(/\/+$/, "") || "rpcx";
  const where = `consul ${target.servers.join(",")}`;
  // Which agents answer (dialled at the first request: opening contacts nothing).
  let http: ConsulHttp | undefined;
  const agents = () => (http ??= new ConsulHttp(servers, options));
  let closed = false;

  const entries = async (prefix: string) => {
    try {
      return (await agents().list(prefix)).entries;
    } catch (e) {
      throw unreachableError("consul", "list", where, e);
    }
  };

  // Change notifications: a blocking query on the base path while anybody waits.
  const waiters = new ChangeWaiters();
  let blocking: Promise<void> | undefined;
  // The first answer, and the first after a failure, wake the waiters too: what changed before
  // (since their last list, or while the agent did not answer: restarted empty, say) was not
  // notified, so they list again.
  async function block(): Promise<void> {
    let index: string | undefined;
    let failed = true;
    while (waiters.size > 0 && !closed) {
      try {
        const res = await agents().list(`${base}/`, index ?? "0", WAIT_MS);
        const next = res.index ?? "0";
        if (failed || (index !== undefined && next !== index)) waiters.wake();
        failed = false;
        index = next;
      } catch {
        if (closed) break;
        index = undefined;
        failed = true;
        await delay(1000); // unreachable: polling reports it
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
        if (parts) nodes.push({ ...parts, metadata: e.Value ?? "" });
      }
      return sortNodes(nodes);
    },
    async update(service, key, edit): Promise<string> {
      const path = `${base}/${service}/${key}`;
      for (let i = 0; i < CAS_TRIES; i++) {
        let entry;
        try {
          entry = await agents().get(path);
        } catch (e) {
          if (e instanceof ConsulError && e.status === 404) {
            throw nodeMissing("consul", service, key, url);
          }
          throw unreachableError("consul", "update", where, e);
        }
        if (!entry) throw nodeMissing("consul", service, key, url);
        const meta = parseMetadata(entry.Value ?? "");
        edit(meta);
        const next = encodeGoValues(meta);
        let written: unknown;
        try {
          // Same flags (libkv's lock flags) and no acquire/release: the session keeps the node.
          [, written] = await agents().request("kv.set", (c, o) => c.kv.set(o), {
            key: path,
            value: next,
            flags: flagsOf(entry.Flags),
            cas: entry.ModifyIndex ?? 0,
          });
        } catch (e) {
          throw unreachableError("consul", "update", where, e);
        }
        if (written === true || written === "true") return next;
      }
      throw nodeBusy("consul", path);
    },
    changed(signal: AbortSignal): Promise<void> {
      const p = waiters.wait(signal);
      blocking ??= block();
      return p;
    },
    discovery(service: string): ServiceDiscovery {
      return new ConsulDiscovery(basePath, service, servers, options);
    },
    async close(): Promise<void> {
      closed = true;
      waiters.wake();
      http?.close();
      await blocking;
    },
  };
}
