/**
 * etcd v3 for an operator (`rpcx list/watch/set/ui`): keys `basePath/Service/network@host:port`
 * holding the metadata, as Go rpcx-etcd writes them, through the plugin's own client (TLS,
 * client certificates, user/password, several endpoints).
 *
 * @module
 */
import type { Etcd3, Watcher } from "etcd3";
import type { ServiceDiscovery } from "../discovery.ts";
import {
  ChangeWaiters,
  checkTarget,
  encodeGoValues,
  nodeMissing,
  type OperatorTarget,
  type RegistryOperator,
  type ServerNode,
  sortNodes,
  splitNodePath,
  unreachableError,
  usageError,
} from "../operator.ts";
import { parseMetadata } from "../metadata.ts";
import { within } from "../../_internal/async.ts";
import { createClient, type EtcdClientOptions } from "./client.ts";
import { EtcdDiscovery } from "./discovery.ts";

/** How long one etcd request may take, ms. */
const REQUEST_TIMEOUT = 5000;

/** The plugin's client options for `target`: TLS material and user/password. */
function clientOptions(target: OperatorTarget): EtcdClientOptions {
  checkTarget(target, { token: "etcd takes a user and password, not a token" });
  const options: EtcdClientOptions = { dialTimeout: REQUEST_TIMEOUT };
  if (target.username !== undefined || target.password !== undefined) {
    if (!target.username || target.password === undefined) {
      throw usageError(
        "etcd",
        `registry "${target.url}": etcd auth needs both a user and a password`,
      );
    }
    options.auth = { username: target.username, password: target.password };
  }
  if (target.tls) {
    if (target.ca !== undefined) {
      options.credentials = { rootCertificate: target.ca, certChain: target.cert };
      if (target.key !== undefined) options.credentials.privateKey = target.key;
    } else if (target.cert !== undefined) {
      throw usageError(
        "etcd",
        `registry "${target.url}": an etcd client certificate needs its CA (ca)`,
      );
    }
    if ((target.cert === undefined) !== (target.key === undefined)) {
      throw usageError("etcd", `registry "${target.url}": give both cert and key, or neither`);
    }
  }
  return options;
}

/**
 * Opens etcd for `target` (`etcd://`, `etcd+tls://user:pass@h1:2379,h2:2379/base?ca=…`); the
 * base path is kept as given, as Go does. Nothing is contacted before the first call.
 *
 * @example
 * ```ts
 * import { openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("etcd+tls://rpcx:secret@127.0.0.1:2379/rpcx_test?ca=ca.pem");
 * console.log(await r.list());
 * await r.close();
 * ```
 */
export function openOperator(target: OperatorTarget): RegistryOperator {
  const options = clientOptions(target);
  const url = target.url;
  // TLS to every endpoint (with no CA given: the system roots)
  const servers = target.tls
    ? target.servers.map((s) => (/^https?:\/\//i.test(s) ? s : `https://${s}`))
    : target.servers;
  const basePath = target.basePath;
  // The registries' own client (dead endpoints steered around, bounded dials and stream
  // opens), made at the first call: opening contacts nothing.
  let etcd: Etcd3 | undefined;
  const client = () => (etcd ??= createClient(servers, options));
  const base = basePath.length > 1 ? basePath.replace(/\/+$/, "") : basePath;
  const where = `etcd ${target.servers.join(",")}`;
  const waiters = new ChangeWaiters();
  let watcher: Watcher | undefined;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  // A watch that breaks is dropped (so etcd3 stops re-opening it) and made anew a second later
  // while anybody waits. Each one wakes the waiters once it is open: what changed before it
  // (since their last list, or while there was no watch) was not notified, so they list again.
  const drop = (w: Watcher) => {
    if (watcher === w) watcher = undefined;
    w.removeAllListeners("data");
    w.removeAllListeners("connected");
    w.on("error", () => {});
    return within(w.cancel(), 1000).catch(() => {});
  };
  const watch = (): Watcher => {
    const w = client().watch().prefix(`${base}/`).watcher();
    w.on("connected", () => waiters.wake());
    w.on("data", () => waiters.wake());
    const broken = () => {
      if (watcher !== w) return;
      void drop(w);
      clearTimeout(retry);
      retry = setTimeout(() => {
        retry = undefined;
        if (!closed && !watcher && waiters.size > 0) watcher = watch();
      }, 1000);
    };
    w.on("error", broken);
    w.on("disconnected", broken);
    return w;
  };
  return {
    url,
    writable: true,
    async list(service?: string): Promise<ServerNode[]> {
      const prefix = service === undefined ? `${base}/` : `${base}/${service}/`;
      let all: Record<string, string>;
      try {
        all = await client().getAll().prefix(prefix).strings();
      } catch (e) {
        throw unreachableError("etcd", "list", where, e);
      }
      const nodes: ServerNode[] = [];
      for (const [k, metadata] of Object.entries(all)) {
        const parts = splitNodePath(k.slice(base.length + 1));
        if (parts) nodes.push({ ...parts, metadata });
      }
      return sortNodes(nodes);
    },
    async update(service, key, edit): Promise<string> {
      const path = `${base}/${service}/${key}`;
      let current: string | null;
      try {
        current = await client().get(path).string();
      } catch (e) {
        throw unreachableError("etcd", "update", where, e);
      }
      if (current === null) throw nodeMissing("etcd", service, key, url);
      const meta = parseMetadata(current);
      edit(meta);
      const next = encodeGoValues(meta);
      try {
        // ignoreLease: the key stays on the server's lease, so it still expires with the server.
        await client().put(path).value(next).ignoreLease();
      } catch (e) {
        if (/not found/i.test(String(e))) throw nodeMissing("etcd", service, key, url);
        throw unreachableError("etcd", "update", where, e);
      }
      return next;
    },
    changed(signal: AbortSignal): Promise<void> {
      // no watch is opened on a closed client (etcd3 would retry it for ever)
      if (!closed) watcher ??= watch();
      return waiters.wait(signal);
    },
    discovery(service: string): ServiceDiscovery {
      return new EtcdDiscovery(basePath, service, servers, options);
    },
    async close(): Promise<void> {
      closed = true;
      clearTimeout(retry);
      waiters.wake();
      const w = watcher;
      watcher = undefined;
      if (w) await drop(w);
      etcd?.close();
    },
  };
}
