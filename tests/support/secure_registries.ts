// Registries as production secures them, for the tests that need one (tests/registry_secure_test.ts,
// tests/redis_secure_test.ts, tests/cli_secure_test.ts): test certificates, etcd over mutual
// TLS and with users, Consul over https (optionally with ACLs), Redis over TLS, a raw ZooKeeper
// client with digest auth; and what those tests check on each: outages as text, Go rpcx with
// the same settings both ways, closing everything.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Etcd3, type IOptions } from "etcd3";
import zookeeper from "node-zookeeper-client";
import type { RegistryOutageEvent, ServiceDiscovery } from "@rpcx/core";
import { makeTestCerts, OPENSSL, type TestCerts } from "./certs.ts";
import { type ConsulAgent, startConsul } from "./consul_agent.ts";
import { type EtcdServer, startEtcd } from "./etcd_server.ts";
import type { RedisServerOptions } from "./redis_server.ts";
import { type GoRegistry, runGoClient, startGoServer } from "./go_peer.ts";
import { delay, needs, waitFor } from "./env.ts";

/** Test certificates, or undefined when openssl is missing (a failure under `CI=true`). */
export async function testCertsOrSkip(): Promise<TestCerts | undefined> {
  if (!needs("openssl", OPENSSL ? undefined : "openssl is not on PATH")) return undefined;
  return await makeTestCerts();
}

/** The `--registry-*` flags of the CA and the client certificate (rpcx's and the Go peer's). */
export function registryCertFlags(certs: TestCerts): string[] {
  return [
    "--registry-ca",
    certs.caPath,
    "--registry-cert",
    certs.client.certPath,
    "--registry-key",
    certs.client.keyPath,
  ];
}

/** The client side of mutual TLS as PEM text: the CA, the client certificate and its key. */
export function clientTls(certs: TestCerts): { ca: string; cert: string; key: string } {
  return { ca: certs.ca, cert: certs.client.cert, key: certs.client.key };
}

/** etcd over mutual TLS (server certificate, client certificates required), or undefined. */
export async function startTlsEtcd(certs: TestCerts): Promise<EtcdServer | undefined> {
  return await startEtcd({
    tls: {
      cert: certs.server.certPath,
      key: certs.server.keyPath,
      ca: certs.caPath,
      clientCa: certs.caPath,
      probe: { cert: certs.client.certPath, key: certs.client.keyPath },
    },
  });
}

/**
 * Through a client made with `options` (a TLS etcd needs its credentials): creates root (role
 * root) and `user` with read/write on everything (role rpcx), then enables auth.
 */
export async function enableEtcdAuth(
  options: IOptions,
  user: string,
  password: string,
): Promise<void> {
  const raw = new Etcd3(options);
  try {
    await raw.role("root").create().catch(() => {});
    await raw.user("root").create("root-secret");
    await raw.user("root").addRole("root");
    await raw.role("rpcx").create();
    await raw.role("rpcx").grant({ permission: "Readwrite", range: raw.range({ prefix: "" }) });
    await raw.user(user).create(password);
    await raw.user(user).addRole("rpcx");
    await raw.auth.authEnable({});
  } finally {
    raw.close();
  }
}

/**
 * A Consul agent with https on `httpsPort` (client certificates required) beside its plain
 * http port; with `token`, ACLs on (default deny) and `token` the initial management token.
 */
export async function startTlsConsul(
  certs: TestCerts,
  httpsPort: number,
  token?: string,
): Promise<ConsulAgent | undefined> {
  return await startConsul({
    hcl: [
      `ports { https = ${httpsPort} }`,
      `tls { defaults { ca_file = "${certs.caPath}" cert_file = "${certs.server.certPath}" ` +
      `key_file = "${certs.server.keyPath}" } https { verify_incoming = true } }`,
      ...(token === undefined ? [] : [
        `acl { enabled = true, default_policy = "deny", tokens { initial_management = "${token}" } }`,
      ]),
    ],
    token,
  });
}

/** `startRedis`'s TLS settings: the server certificate, client certificates required. */
export function redisTls(certs: TestCerts): NonNullable<RedisServerOptions["tls"]> {
  return {
    cert: certs.server.certPath,
    key: certs.server.keyPath,
    ca: certs.caPath,
    clients: "yes",
  };
}

/** Failures a plugin or discovery reported, as text. */
export function outages(target: EventTarget): string[] {
  const seen: string[] = [];
  target.addEventListener("outage", (e) => {
    const err = (e as RegistryOutageEvent).error;
    seen.push(err instanceof Error ? err.message : String(err));
  });
  return seen;
}

/** Closes each of `items` in turn, ignoring failures. */
export async function closeAll(
  ...items: ({ close(): Promise<void> } | undefined)[]
): Promise<void> {
  for (const item of items) await item?.close().catch(() => {});
}

/**
 * Go rpcx with `flags`: Go's client through Go's discovery calls the Deno server twice, and a
 * Go server registered by Go's plugin (with `serverFlags` too) shows up in our discovery `d`.
 */
export async function goBothWays(
  reg: GoRegistry,
  flags: string[],
  d: ServiceDiscovery,
  serverFlags: string[] = [],
): Promise<void> {
  const gc = await runGoClient(reg, ["--count", "2", ...flags]);
  assert.equal(gc.code, 0, gc.out + gc.err);
  assert.equal(gc.out.match(/10 \* 20 = 200/g)?.length, 2, gc.out);
  const go = await startGoServer(reg, ["--services", "Arith", ...serverFlags, ...flags]);
  try {
    await waitFor(
      "the Go server listed",
      () => d.getServices().some((p) => p.key === go.key),
      10_000,
    );
  } finally {
    await go.stop();
  }
}

/** An operator's raw ZooKeeper client (node-zookeeper-client as is), optionally with digest auth. */
export interface RawZk {
  connect(): void;
  close(): void;
  once(event: string, fn: () => void): void;
  addAuthInfo(scheme: string, auth: Buffer): void;
  getData(path: string, cb: (e: { code: number } | null, data?: Buffer) => void): void;
  setData(
    path: string,
    data: Buffer,
    version: number,
    cb: (e: { code: number } | null) => void,
  ): void;
  remove(path: string, version: number, cb: (e: { code: number } | null) => void): void;
  getACL(
    path: string,
    cb: (
      e: { code: number } | null,
      acls?: { permission: number; id: { scheme: string; id: string } }[],
    ) => void,
  ): void;
}

/** A connected {@link RawZk}; `auth` is the digest `user:password`. */
export async function rawZk(connectString: string, auth?: string): Promise<RawZk> {
  const c = zookeeper.createClient(connectString, {
    sessionTimeout: 5000,
    spinDelay: 100,
  }) as unknown as RawZk;
  if (auth) c.addAuthInfo("digest", Buffer.from(auth));
  await new Promise<void>((resolve) => {
    c.once("connected", resolve);
    c.connect();
  });
  return c;
}

/** Closes `c`, waiting at most 2 s for it to disconnect. */
export async function closeRawZk(c: RawZk): Promise<void> {
  const gone = new Promise<void>((r) => c.once("disconnected", r));
  c.close();
  await Promise.race([gone, delay(2000)]);
}
