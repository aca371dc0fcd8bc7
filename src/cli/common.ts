/**
 * Pieces shared by the `rpcx` commands: the registry flag, call flags, error mapping and
 * JSON output.
 *
 * @module
 */
import { type Command, Option } from "commander";
import {
  CallAbortedError,
  CallTimeoutError,
  ConnectionError,
  NoServerAvailableError,
  ServiceError,
} from "../client/errors.ts";
import { FailMode, type XClientOptions } from "../client/xclient.ts";
import { SelectMode } from "../client/selectors.ts";
import { CompressType, SerializeType } from "../protocol/constants.ts";
import { CliError, ExitCode, unreachable, usage } from "./errors.ts";
import { protoCodecs } from "./proto.ts";
import { openRegistry, type RegistryCredentials } from "./registry/open.ts";
import { type RegistryOperator, viewOf } from "./registry/registry.ts";

/** Help text of `--registry`. */
export const REGISTRY_HELP =
  "registry URL: etcd://host:port[,host:port]/base, zookeeper://…, consul://…, redis://…, " +
  "mdns://, dns://name:port, or servers directly as tcp@host:port[,tcp@host:port]; " +
  "scheme+tls:// (rediss://) for TLS, user:password@ and ?ca=&cert=&key=&token= for credentials";

/** The `--registry-*` credential flags, as commander hands them over. */
export interface CredentialFlags {
  registryCa?: string;
  registryCert?: string;
  registryKey?: string;
  registryUser?: string;
  registryPassword?: string;
  registryToken?: string;
}

/** What `-r` and the `--registry-*` flags give a command. */
export interface RegistryFlags extends CredentialFlags {
  registry: string;
}

/**
 * Adds the `--registry-*` credential flags to `cmd`: defaults for every registry URL of the
 * command (the URL's own settings win), each also from its environment variable.
 */
export function credentialOptions(cmd: Command): Command {
  const flags: [string, string, string][] = [
    ["--registry-ca <file>", "PEM CA of the registry's certificate (TLS URLs)", "CA"],
    ["--registry-cert <file>", "PEM client certificate for the registry (mutual TLS)", "CERT"],
    ["--registry-key <file>", "PEM key of --registry-cert", "KEY"],
    ["--registry-user <name>", "registry user (etcd, ZooKeeper digest, Redis ACL)", "USER"],
    ["--registry-password <pw>", "registry password (env keeps it out of ps)", "PASSWORD"],
    ["--registry-token <token>", "registry token (Consul ACL)", "TOKEN"],
  ];
  for (const [flag, help, env] of flags) {
    cmd.addOption(new Option(flag, help).env(`RPCX_REGISTRY_${env}`));
  }
  return cmd;
}

/** The credentials of {@linkcode CredentialFlags}. */
export function credentialsOf(f: CredentialFlags): RegistryCredentials {
  return {
    ca: f.registryCa,
    cert: f.registryCert,
    key: f.registryKey,
    username: f.registryUser,
    password: f.registryPassword,
    token: f.registryToken,
  };
}

/** Adds `-r, --registry <url>` and the `--registry-*` credential flags to `cmd`. */
export function registryOption(cmd: Command): Command {
  return credentialOptions(cmd.addOption(
    new Option("-r, --registry <url>", REGISTRY_HELP).env("RPCX_REGISTRY").makeOptionMandatory(),
  ));
}

/** Runs `fn` with the registry of `flags` open, closing it afterwards. */
export async function withRegistry<T>(
  flags: RegistryFlags,
  fn: (r: RegistryOperator) => Promise<T>,
): Promise<T> {
  const r = await openRegistry(flags.registry, credentialsOf(flags));
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

/** Serializer names → rpcx serialize types. */
export const SERIALIZERS: Record<string, number> = {
  msgpack: SerializeType.MsgPack,
  json: SerializeType.JSON,
  raw: SerializeType.SerializeNone,
  protobuf: SerializeType.ProtoBuffer,
};

const FAIL_MODES: Record<string, FailMode> = {
  failover: FailMode.Failover,
  failfast: FailMode.Failfast,
  failtry: FailMode.Failtry,
  failbackup: FailMode.Failbackup,
};

const SELECT_MODES: Record<string, SelectMode> = {
  random: SelectMode.RandomSelect,
  roundrobin: SelectMode.RoundRobin,
  weighted: SelectMode.WeightedRoundRobin,
  weightedicmp: SelectMode.WeightedICMP,
  consistenthash: SelectMode.ConsistentHash,
};

/** Adds the flags of a call (`call`, `bench`) to `cmd`. */
export function callOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("-s, --serializer <name>", "wire serializer").choices(Object.keys(SERIALIZERS))
        .default("msgpack"),
    )
    .option(
      "-m, --meta <key=value>",
      "request metadata (repeatable)",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option("-t, --timeout <ms>", "give up after this many ms", "5000")
    .option("--auth <token>", "auth token sent as __AUTH")
    .option("--gzip", "gzip requests over 1 KiB")
    .option("-g, --group <group>", "only servers of this group")
    .addOption(
      new Option("--fail-mode <mode>", "on failure").choices(Object.keys(FAIL_MODES)).default(
        "failover",
      ),
    )
    .addOption(
      new Option("--select-mode <mode>", "which server").choices(Object.keys(SELECT_MODES))
        .default("roundrobin"),
    )
    .option("--retries <n>", "extra tries for failover/failtry", "3")
    .option("--proto <file>", "with -s protobuf: the .proto file of the messages")
    .option("--request-type <type>", "with -s protobuf: the args message, e.g. pkg.ProtoArgs")
    .option("--reply-type <type>", "with -s protobuf: the reply message, e.g. pkg.ProtoReply");
}

/** The values of {@linkcode callOptions}'s flags. */
export interface CallFlags {
  serializer: string;
  meta: string[];
  timeout: string;
  auth?: string;
  gzip?: boolean;
  group?: string;
  failMode: string;
  selectMode: string;
  retries: string;
  proto?: string;
  requestType?: string;
  replyType?: string;
}

/** A positive integer flag; throws a usage error otherwise. */
export function intFlag(name: string, value: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw usage(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  }
  return n;
}

/** `Service.Method` split; throws a usage error otherwise. */
export function splitTarget(target: string): { service: string; method: string } {
  const i = target.lastIndexOf(".");
  if (i <= 0 || i === target.length - 1) {
    throw usage(`expected Service.Method, got "${target}"`);
  }
  return { service: target.slice(0, i), method: target.slice(i + 1) };
}

/** `key=value` list → metadata record; throws a usage error on text without `=`. */
export function metadataOf(pairs: readonly string[]): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf("=");
    if (i <= 0) throw usage(`--meta expects key=value, got "${p}"`);
    meta[p.slice(0, i)] = p.slice(i + 1);
  }
  return meta;
}

/** The call's args from its text: JSON (msgpack, json, protobuf), the UTF-8 bytes for raw. */
export function argsOf(text: string | undefined, serializer: string): unknown {
  if (serializer === "raw") return new TextEncoder().encode(text ?? "");
  if (text === undefined || text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw usage(`args are not JSON: ${(e as Error).message}`);
  }
}

/** What the XClient of a call is built from. */
export interface CallSetup {
  failMode: FailMode;
  selectMode: SelectMode;
  options: XClientOptions;
  timeout: number;
  metadata: Record<string, string>;
}

/** {@linkcode CallFlags} → XClient modes and options (protobuf: the types loaded). */
export async function callSetup(f: CallFlags): Promise<CallSetup> {
  const timeout = intFlag("timeout", f.timeout);
  const codecs = f.serializer === "protobuf" ? await protoCodecs(f) : undefined;
  return {
    failMode: FAIL_MODES[f.failMode],
    selectMode: SELECT_MODES[f.selectMode],
    timeout,
    metadata: metadataOf(f.meta),
    options: {
      serializeType: SERIALIZERS[f.serializer],
      compressType: f.gzip ? CompressType.Gzip : CompressType.None,
      auth: f.auth,
      group: f.group,
      retries: intFlag("retries", f.retries, 0),
      discoveryTimeout: timeout,
      codecs,
    },
  };
}

/** Maps an error of a call to a {@linkcode CliError} with its exit code. */
export function callError(what: string, e: unknown): CliError {
  if (e instanceof CliError) return e;
  if (e instanceof ServiceError) return new CliError(`${what}: ${e.message}`, ExitCode.Failed);
  if (e instanceof CallTimeoutError || e instanceof CallAbortedError) {
    return new CliError(`${what}: ${e.message}`, ExitCode.Failed);
  }
  if (e instanceof NoServerAvailableError) {
    return new CliError(`${what}: ${e.message}`, ExitCode.Failed);
  }
  if (e instanceof ConnectionError) {
    return new CliError(`${what}: ${e.message}`, ExitCode.Unreachable);
  }
  return new CliError(`${what}: ${(e as Error)?.message ?? String(e)}`, ExitCode.Failed, {
    cause: e,
  });
}

/** JSON text of a reply: int64 BigInts as numbers, bytes as base64 strings. */
export function toJson(value: unknown, indent?: number): string {
  const marker = "\u0000big:";
  const text = JSON.stringify(value, (_k, v) => {
    if (typeof v === "bigint") return `${marker}${v}`;
    if (v instanceof Uint8Array) return btoa(String.fromCharCode(...v));
    if (v instanceof Map) return Object.fromEntries(v);
    return v;
  }, indent);
  return (text ?? "null").replace(/"\\u0000big:(-?\d+)"/g, "$1");
}

/** The STATE `rpcx list` shows for a node (its `NodeView`'s `state`). */
export function stateOf(node: { service: string; metadata: string }): string {
  return viewOf(node).state;
}

/**
 * Follows `discovery`'s `"outage"`/`"recovered"` events, so a call that found no server can
 * say the registry was unreachable (exit 3) rather than that it listed nobody (exit 1).
 */
export function outageOf(discovery: EventTarget): { readonly error: unknown } {
  const state: { error: unknown } = { error: undefined };
  discovery.addEventListener(
    "outage",
    (e) => (state.error = (e as Event & { error: unknown }).error),
  );
  discovery.addEventListener("recovered", () => (state.error = undefined));
  return state;
}

/** {@linkcode callError}, with a registry outage behind "no server" reported as unreachable. */
export function callErrorOf(
  what: string,
  e: unknown,
  outage: { readonly error: unknown },
  registry: string,
): CliError {
  if (e instanceof NoServerAvailableError && outage.error !== undefined) {
    return unreachable(`${what}: registry ${registry}`, outage.error);
  }
  return callError(what, e);
}
