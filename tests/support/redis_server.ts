// Starts a real redis-server (Debian package redis-server, /usr/bin/redis-server) for tests: a
// free loopback port, a temp dir for its dump file, optional password, ACL users and TLS; waits
// until it logs that it accepts connections. Keyspace notifications are left at Redis's default
// (off): the registry turns them on itself, as Go's libkv does.
// Install it with .ci/install/80-redis.sh.

import { findExecutable, freePort, needs } from "./env.ts";
import { type DataServer, SupervisedProcess, SupervisedServer } from "./supervised.ts";

/** How to start the test redis-server (defaults: plain TCP, no auth, saved on SIGTERM). */
export interface RedisServerOptions {
  /** `requirepass`: the default user's password. */
  password?: string;
  /** ACL rules, one `user ...` line each, e.g. `user rpcx on >pw ~* &* +@all`. */
  users?: string[];
  /**
   * Serve TLS only (`tls-port`, plain port off) with this certificate; `clients`: whether
   * clients must present a certificate signed by `ca` (`tls-auth-clients`, default `no`).
   */
  tls?: { cert: string; key: string; ca: string; clients?: "yes" | "no" | "optional" };
  /** More redis-server arguments, e.g. `["--rename-command", "CONFIG", ""]`. */
  args?: string[];
}

/** A running test redis-server (`port`: the TLS port with `tls`; `dataDir`: its dump file's). */
export interface RedisServer extends DataServer {
  /**
   * Stops the process: SIGTERM saves the keys to the dump file (Redis's shutdown with a save
   * point), SIGKILL loses what was not saved.
   */
  halt(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
}

/** The redis-server binary, or undefined. */
export function redisBinary(): string | undefined {
  return findExecutable("/usr/bin/redis-server", "redis-server");
}

/**
 * Starts redis-server, or returns undefined (after `needs()` printed a SKIP; under CI=true it
 * throws) when the binary is missing.
 */
export async function startRedis(
  options: RedisServerOptions = {},
): Promise<RedisServer | undefined> {
  const bin = redisBinary();
  if (!needs("redis-server", bin ? undefined : "no redis-server (bash .ci/install/80-redis.sh)")) {
    return undefined;
  }
  const server = new TestRedis(bin!, Deno.makeTempDirSync({ prefix: "rpcx-redis-" }), options);
  await server.resume();
  return server;
}

class TestRedis extends SupervisedServer implements RedisServer {
  readonly port: number = freePort();
  readonly dataDir: string;

  constructor(readonly bin: string, root: string, readonly options: RedisServerOptions) {
    super(root, "redis test server", "SIGKILL");
    this.dataDir = `${root}/data`;
    Deno.mkdirSync(this.dataDir);
    if (options.users?.length) {
      Deno.writeTextFileSync(`${root}/users.acl`, options.users.join("\n") + "\n");
    }
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  protected async launch(wipe: boolean) {
    if (wipe) await Deno.remove(`${this.dataDir}/dump.rdb`).catch(() => {});
    const o = this.options;
    const tls = o.tls
      ? [
        "--port",
        "0",
        "--tls-port",
        String(this.port),
        "--tls-cert-file",
        o.tls.cert,
        "--tls-key-file",
        o.tls.key,
        "--tls-ca-cert-file",
        o.tls.ca,
        "--tls-auth-clients",
        o.tls.clients ?? "no",
      ]
      : ["--port", String(this.port)];
    const logFile = `${this.root}/redis.log`;
    const offset = (() => {
      try {
        return Deno.statSync(logFile).size;
      } catch {
        return 0;
      }
    })();
    const proc = await SupervisedProcess.spawn(this.bin, [
      "--bind",
      "127.0.0.1",
      ...tls,
      "--dir",
      this.dataDir,
      "--dbfilename",
      "dump.rdb",
      "--save",
      "3600 1", // a save point: SIGTERM saves the keys, SIGKILL does not
      "--appendonly",
      "no",
      "--daemonize",
      "no",
      "--logfile",
      "",
      "--loglevel",
      "notice",
      ...(o.password !== undefined ? ["--requirepass", o.password] : []),
      ...(o.users?.length ? ["--aclfile", `${this.root}/users.acl`] : []),
      ...(o.args ?? []),
    ], { root: this.root, logName: "redis" });
    const ready = () =>
      proc.waitReady(`redis-server on ${this.endpoint}`, async () => {
        const log = await Deno.readFile(logFile).catch(() => new Uint8Array());
        return new TextDecoder().decode(log.subarray(offset)).includes(
          "Ready to accept connections",
        );
      }, 20_000);
    return { proc, ready };
  }
}
