/**
 * Registries named by URL: one table from URL scheme to the registry folder's `operator.ts`,
 * loaded (with its npm client) only when a URL names it.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import {
  type CredentialName,
  type OperatorModule,
  type OperatorTarget,
  type RegistryOperator,
  RegistryOperatorError,
} from "../../registry/operator.ts";
import { defaultNetworks } from "../../transport/networks.ts";
import { CliError, ExitCode, usage } from "../errors.ts";
import { peerError } from "../peer.ts";

/**
 * A registry of the table: its default port (registries reached at `host:port`), its module, and
 * the npm packages its folder imports (on npm optional peer dependencies, named when missing;
 * tests/npm_test.ts checks them against the folder's imports).
 */
interface RegistryEntry {
  port?: number;
  npm: readonly string[];
  load(): Promise<OperatorModule>;
}

/**
 * The registries by URL scheme. Adding one: its folder under `src/registry/` with an
 * `operator.ts` exporting `openOperator` (see `OperatorModule`), one line here (with the npm
 * packages the folder imports), one subpath in deno.json.
 */
const REGISTRIES: Readonly<Record<string, RegistryEntry>> = {
  etcd: {
    port: 2379,
    npm: ["etcd3", "@grpc/grpc-js"],
    load: () => import("../../registry/etcd/operator.ts"),
  },
  zookeeper: {
    port: 2181,
    npm: ["node-zookeeper-client"],
    load: () => import("../../registry/zookeeper/operator.ts"),
  },
  consul: { port: 8500, npm: ["consul"], load: () => import("../../registry/consul/operator.ts") },
  redis: { port: 6379, npm: ["ioredis"], load: () => import("../../registry/redis/operator.ts") },
  mdns: { npm: ["multicast-dns"], load: () => import("../../registry/mdns/operator.ts") },
  dns: { npm: [], load: () => import("../../registry/dns/operator.ts") },
};

/** Other names of the same registries. */
const ALIASES: Record<string, string> = { etcdv3: "etcd", zk: "zookeeper", rediss: "redis+tls" };

/** The URL schemes `openRegistry` knows (aliases and `+tls` forms left out). */
export const REGISTRY_SCHEMES: readonly string[] = Object.keys(REGISTRIES);

/**
 * The npm packages each registry's folder imports, by URL scheme: on npm, optional peer
 * dependencies of `@rpcx/core` that a user of that registry installs.
 *
 * @example
 * ```ts
 * import { REGISTRY_NPM_PACKAGES } from "@rpcx/core/cli";
 * console.log(REGISTRY_NPM_PACKAGES.etcd); // [ "etcd3", "@grpc/grpc-js" ]
 * ```
 */
export const REGISTRY_NPM_PACKAGES: Readonly<Record<string, readonly string[]>> = Object
  .fromEntries(Object.entries(REGISTRIES).map(([k, v]) => [k, v.npm]));

/**
 * A registry URL taken apart: `scheme://[user[:password]@]host:port[,host:port]/base?params`
 * (scheme one of {@linkcode REGISTRY_SCHEMES}, or an alias: `etcdv3`, `zk`, `rediss`; a `+tls`
 * suffix, e.g. `etcd+tls://`, asks TLS), `mdns://[?timeout=ms]`, `dns://name:port[?…]`, or
 * servers directly as `tcp@h:p[,tcp@h:p]` (any network: `ws@`, `unix@`, …; `tcp://h:p` too).
 *
 * @example
 * ```ts
 * import { parseRegistryUrl } from "@rpcx/core/cli";
 * const u = parseRegistryUrl("etcd+tls://rpcx:pw@127.0.0.1:2379/rpcx_test?ca=ca.pem");
 * console.log(u.kind, u.servers, u.basePath, u.tls, u.username); // etcd [ "127.0.0.1:2379" ] /rpcx_test true rpcx
 * ```
 */
export interface RegistryUrl {
  /** The registry (one of {@linkcode REGISTRY_SCHEMES}), or `direct` for servers named directly. */
  kind: string;
  /** `host:port` of the registry (default port filled in), or `network@host:port` for direct. */
  servers: string[];
  /** Base path (default `/rpcx`, Go's default); unused for mdns, dns and direct. */
  basePath: string;
  /** TLS asked for by the scheme (`+tls`, `rediss`). */
  tls: boolean;
  /** The user of the URL's user info, percent-decoded. */
  username?: string;
  /** The password of the URL's user info, percent-decoded. */
  password?: string;
  /** Query parameters (`ca`, `cert`, `key`, `token`, and the registry's own, e.g. `timeout`). */
  params: URLSearchParams;
}

/** `host:port` with `port` filled in when `host` has none (`[v6]`, `[v6]:p`, `h`, `h:p`). */
function withPort(host: string, port: number): string {
  if (host.startsWith("[")) return /\]:\d+$/.test(host) ? host : `${host}:${port}`;
  return /:\d+$/.test(host) || host.split(":").length > 2 ? host : `${host}:${port}`;
}

function decode(text: string, url: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw usage(`registry "${url}": bad percent-encoding in the user info`);
  }
}

const SCHEME_LIST = `${REGISTRY_SCHEMES.map((s) => `${s}://`).join(", ")} or tcp@host:port`;

/**
 * Parses a registry URL (see {@linkcode RegistryUrl}); throws a `CliError` (exit 2) on an
 * unknown scheme or a missing host.
 */
export function parseRegistryUrl(text: string): RegistryUrl {
  const t = text.trim();
  const direct = t.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const isDirect = (s: string) => {
    const m = /^([a-z0-9]+)@./i.exec(s);
    return m !== null && (defaultNetworks.has(m[1]) || m[1] === "inprocess");
  };
  if (direct.length > 0 && direct.every(isDirect)) {
    return {
      kind: "direct",
      servers: direct,
      basePath: "",
      tls: false,
      params: new URLSearchParams(),
    };
  }
  const m = t.match(/^([a-z][a-z0-9+.-]*):\/\/(?:([^@/?]*)@)?([^/?]*)([^?]*)(?:\?(.*))?$/i);
  if (!m) throw usage(`registry "${text}": expected ${SCHEME_LIST}`);
  const [, scheme, userinfo, hosts, path, query] = m;
  const params = new URLSearchParams(query ?? "");
  let name = scheme.toLowerCase();
  name = ALIASES[name] ?? name;
  const tls = name.endsWith("+tls");
  if (tls) name = name.slice(0, -4);
  name = ALIASES[name] ?? name;
  if (name === "tcp" && !tls) {
    if (!hosts) throw usage(`registry "${text}": no host:port`);
    return {
      kind: "direct",
      servers: hosts.split(",").map((h) => `tcp@${h}`),
      basePath: "",
      tls: false,
      params,
    };
  }
  if (!Object.hasOwn(REGISTRIES, name)) {
    throw usage(`registry "${text}": unknown scheme ${scheme}:// (expected ${SCHEME_LIST})`);
  }
  const kind = name;
  const port = REGISTRIES[kind].port;
  if (port !== undefined && !hosts) throw usage(`registry "${text}": no host:port`);
  const servers = hosts.split(",").map((h) => h.trim()).filter((h) => h !== "")
    .map((h) => (port === undefined ? h : withPort(h, port)));
  const basePath = path && path !== "/" ? path.replace(/\/+$/, "") : "/rpcx";
  const u: RegistryUrl = { kind, servers, basePath, tls, params };
  if (userinfo !== undefined) {
    const i = userinfo.indexOf(":");
    const user = decode(i < 0 ? userinfo : userinfo.slice(0, i), text);
    if (user !== "") u.username = user;
    if (i >= 0) u.password = decode(userinfo.slice(i + 1), text);
  }
  return u;
}

/**
 * Credentials for every registry URL of a command (its `--registry-*` flags): the files are PEM
 * paths. A URL's own settings win; a registry ignores those it has no use for.
 *
 * @example
 * ```ts
 * import type { RegistryCredentials } from "@rpcx/core/cli";
 * const c: RegistryCredentials = { ca: "ca.pem", username: "rpcx", password: "secret" };
 * console.log(c.username);
 * ```
 */
export interface RegistryCredentials {
  /** PEM file of the CA that signed the registry's certificate. */
  ca?: string;
  /** PEM file of the client certificate (mutual TLS). */
  cert?: string;
  /** PEM file of the key of `cert`. */
  key?: string;
  /** User (etcd, ZooKeeper digest, Redis ACL). */
  username?: string;
  /** Password. */
  password?: string;
  /** Token (Consul ACL). */
  token?: string;
}

const FILES = ["ca", "cert", "key"] as const;

/**
 * `url` with its secrets (the user info's password, a `token` parameter) replaced by `***`: what
 * messages, `watch` and the admin page show of it.
 *
 * @example
 * ```ts
 * import { redactRegistryUrl } from "@rpcx/core/cli";
 * console.log(redactRegistryUrl("redis://rpcx:secret@127.0.0.1:6379/x?db=1&token=t"));
 * // "redis://rpcx:***@127.0.0.1:6379/x?db=1&token=***"
 * ```
 */
export function redactRegistryUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?]*:)[^@/?]*@/i, "$1***@")
    .replace(/([?&]token=)[^&]*/gi, "$1***");
}

/** The exit code of each operator failure. */
const EXIT: Record<RegistryOperatorError["reason"], ExitCode> = {
  usage: ExitCode.Usage,
  missing: ExitCode.Failed,
  conflict: ExitCode.Failed,
  unreachable: ExitCode.Unreachable,
};

/** An operator's error as the command line's (a CliError with its exit code). */
function cliError(e: unknown): unknown {
  return e instanceof RegistryOperatorError
    ? new CliError(e.message, EXIT[e.reason], { cause: e })
    : e;
}

/** `op` with every failure a {@linkcode CliError}. */
function withCliErrors(op: RegistryOperator): RegistryOperator {
  const guard = <A extends unknown[], T>(f: (...a: A) => Promise<T>) => async (...a: A) => {
    try {
      return await f(...a);
    } catch (e) {
      throw cliError(e);
    }
  };
  const changed = op.changed?.bind(op);
  return {
    url: op.url,
    writable: op.writable,
    list: guard(op.list.bind(op)),
    update: guard(op.update.bind(op)),
    changed: changed && guard(changed),
    discovery: (service) => op.discovery(service),
    close: guard(op.close.bind(op)),
  };
}

/** The target of `u`: credentials merged (the URL's win), certificate files read. */
async function targetOf(
  url: string,
  u: RegistryUrl,
  flags: RegistryCredentials,
): Promise<OperatorTarget> {
  const params = new URLSearchParams(u.params);
  const fromUrl = new Set<CredentialName>();
  const given: Partial<Record<CredentialName, string>> = {};
  for (const name of [...FILES, "token"] as const) {
    const v = params.get(name);
    params.delete(name);
    if (v !== null) {
      given[name] = v;
      fromUrl.add(name);
    } else if (flags[name] !== undefined) given[name] = flags[name];
  }
  if (u.username !== undefined) fromUrl.add("username");
  if (u.password !== undefined) fromUrl.add("password");
  const target: OperatorTarget = {
    url: redactRegistryUrl(url),
    registry: u.kind,
    servers: u.servers,
    basePath: u.basePath,
    // flags alone never turn TLS on: they serve the URLs that ask for it
    tls: u.tls || FILES.some((f) => fromUrl.has(f)),
    username: u.username ?? flags.username,
    password: u.password ?? flags.password,
    token: given.token,
    params,
    fromUrl,
  };
  for (const f of FILES) {
    const path = given[f];
    // read for a TLS URL only: a flag's file is of no use to the others
    if (path === undefined || !target.tls) continue;
    try {
      target[f] = await readFile(path, "utf8");
    } catch (e) {
      throw usage(
        `registry "${target.url}": cannot read ${f} file ${path}: ${(e as Error).message}`,
      );
    }
  }
  return target;
}

/**
 * Opens the registry named by `url` (see {@linkcode parseRegistryUrl}), loading only that
 * registry's module and npm client; `credentials` (the `--registry-*` flags) fill in what the
 * URL leaves out. Nothing is contacted until the first call; close it when done. Its `url` is
 * {@linkcode redactRegistryUrl}'s: no password or token. Every failure is a `CliError`: exit 2
 * on a malformed URL, settings the registry cannot take, an unreadable certificate file or (npm
 * form) the registry's npm client not installed (`etcd:// needs the npm package etcd3: …`).
 *
 * @example
 * ```ts
 * import { openRegistry } from "@rpcx/core/cli";
 * const r = await openRegistry("zookeeper://rpcx:secret@127.0.0.1:2181/rpcx_test");
 * for (const n of await r.list()) console.log(n.service, n.key, n.metadata);
 * await r.close();
 * ```
 */
export async function openRegistry(
  url: string,
  credentials: RegistryCredentials = {},
): Promise<RegistryOperator> {
  const u = parseRegistryUrl(url);
  try {
    if (u.kind === "direct") {
      const { openDirect } = await import("../../registry/direct_operator.ts");
      return withCliErrors(openDirect(url, u.servers));
    }
    const target = await targetOf(url, u, credentials);
    let module: OperatorModule;
    try {
      module = await REGISTRIES[u.kind].load();
    } catch (e) {
      // On npm a registry's client is an optional peer dependency: name the one to install.
      throw peerError(`${u.kind}://`, e, REGISTRIES[u.kind].npm);
    }
    return withCliErrors(module.openOperator(target));
  } catch (e) {
    throw cliError(e);
  }
}
