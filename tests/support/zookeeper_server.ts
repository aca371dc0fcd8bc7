// Starts a real, single-node Apache ZooKeeper (Debian's libzookeeper-java) for tests, on
// 127.0.0.1 and a free port, with a temp data dir and a short tick so sessions can be short.
// Also a small TCP proxy that can cut a client off from ZooKeeper while ZooKeeper keeps running
// (the way to make a session expire for real).
import { delay, findExecutable, freePort, waitFor } from "./env.ts";

const ZK_JAR = "/usr/share/java/zookeeper.jar";
// zookeeper.jar's manifest Class-Path names its dependencies; only a logging binding is added.
// (A glob over /usr/share/java would pull several slf4j bindings and other versions of jars.)
const LOG_BINDING = "/usr/share/java/slf4j-simple.jar";

/** A running ZooKeeper started by {@linkcode startZooKeeper}. */
export interface ZooKeeperServer {
  /** `127.0.0.1:PORT`, for clients. */
  readonly connectString: string;
  /** The client port. */
  readonly port: number;
  /** The temp dir holding zoo.cfg, data/ and zookeeper.log. */
  readonly dir: string;
  /** Tick in ms (session timeouts are bounded by 2..maxSessionTicks ticks). */
  readonly tickTime: number;
  /** Whether the JVM is running. */
  readonly running: boolean;
  /** Stops the JVM (SIGTERM, then SIGKILL after 5 s); the data dir is kept. */
  stop(): Promise<void>;
  /** Kills the JVM with SIGKILL; the data dir is kept. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same data dir. */
  start(): Promise<void>;
  /** stop(), wait `downMs`, start(). */
  restart(downMs?: number): Promise<void>;
  /** Stops it and removes its temp dir. */
  dispose(): Promise<void>;
  /** Same as dispose(). */
  [Symbol.asyncDispose](): Promise<void>;
  /** SIGKILL and remove the temp dir, synchronously (for an `unload` handler). */
  killSync(): void;
  /** The last lines of its log, for failure messages. */
  logTail(lines?: number): string;
}

/** Why ZooKeeper cannot be started here, or undefined when it can. */
export function zooKeeperMissing(): string | undefined {
  if (!findExecutable("java")) return "java is not on PATH (run .ci/install/20-zookeeper.sh)";
  try {
    Deno.statSync(ZK_JAR);
  } catch {
    return `${ZK_JAR} is missing (run .ci/install/20-zookeeper.sh)`;
  }
  return undefined;
}

/** Options of {@linkcode startZooKeeper}. */
export interface ZooKeeperServerOptions {
  /** ZooKeeper tick in ms (default 200). */
  tickTime?: number;
  /** Smallest session timeout the server grants, ms (default 2 ticks). */
  minSessionTimeout?: number;
  /** Largest session timeout the server grants, ms (default 60 000). */
  maxSessionTimeout?: number;
}

/**
 * Starts a ZooKeeper server, or returns undefined when java / ZooKeeper are not installed
 * (callers pair it with `needs("ZooKeeper", zooKeeperMissing())`).
 */
export async function startZooKeeper(
  options: ZooKeeperServerOptions = {},
): Promise<ZooKeeperServer | undefined> {
  if (zooKeeperMissing()) return undefined;
  const java = findExecutable("java")!;
  const tickTime = options.tickTime ?? 200;
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "rpcx-zk-" });
  const cfg = `${dir}/zoo.cfg`;
  const log = `${dir}/zookeeper.log`;
  await Deno.mkdir(`${dir}/data`);
  await Deno.writeTextFile(
    cfg,
    [
      `tickTime=${tickTime}`,
      `dataDir=${dir}/data`,
      `clientPort=${port}`,
      `clientPortAddress=127.0.0.1`,
      `minSessionTimeout=${options.minSessionTimeout ?? 2 * tickTime}`,
      `maxSessionTimeout=${options.maxSessionTimeout ?? 60_000}`,
      `maxClientCnxns=0`,
      `admin.enableServer=false`,
      `4lw.commands.whitelist=srvr,ruok,cons`,
      `autopurge.purgeInterval=0`,
      "",
    ].join("\n"),
  );
  let classpath = ZK_JAR;
  try {
    Deno.statSync(LOG_BINDING);
    classpath += `:${LOG_BINDING}`;
  } catch {
    // without a binding slf4j prints one warning and logs nothing
  }
  const javaArgs = [
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
    "-Dorg.slf4j.simpleLogger.showDateTime=true",
    "-Dzookeeper.jmx.log4j.disable=true",
    "-cp",
    classpath,
    "org.apache.zookeeper.server.ZooKeeperServerMain",
    cfg,
  ];
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  // exec: the child's pid is the JVM's, so signals reach ZooKeeper itself.
  const script = `exec ${[java, ...javaArgs].map(quote).join(" ")} >>${quote(log)} 2>&1`;

  let child: Deno.ChildProcess | undefined;
  let exited: Promise<Deno.CommandStatus> | undefined;

  const logTail = (lines = 30): string => {
    try {
      return Deno.readTextFileSync(log).trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  };

  const start = async (): Promise<void> => {
    if (child) return;
    child = new Deno.Command("bash", {
      args: ["-c", script],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    exited = child.status;
    const c = child;
    let dead = false;
    exited.then(() => (dead = true));
    try {
      await waitFor(
        `ZooKeeper on 127.0.0.1:${port} to serve`,
        async () => {
          if (dead) throw new Error(`ZooKeeper exited: ${logTail(10)}`);
          return (await fourLetter(port, "srvr")).includes("Zookeeper version");
        },
        30_000,
        100,
      );
    } catch (e) {
      if (!dead) c.kill("SIGKILL");
      await exited;
      child = undefined;
      throw e;
    }
  };

  const halt = async (signal: Deno.Signal): Promise<void> => {
    const c = child;
    if (!c) return;
    try {
      c.kill(signal);
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        c.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
    child = undefined;
    // The port must be free again before a restart binds it.
    await waitFor(
      `port ${port} to be released`,
      async () => {
        try {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port });
          conn.close();
          return false;
        } catch {
          return true;
        }
      },
      5000,
      50,
    );
  };

  await start();
  const server: ZooKeeperServer = {
    connectString: `127.0.0.1:${port}`,
    port,
    dir,
    tickTime,
    get running() {
      return child !== undefined;
    },
    stop: () => halt("SIGTERM"),
    kill: () => halt("SIGKILL"),
    start,
    async restart(downMs = 0) {
      await halt("SIGTERM");
      if (downMs > 0) await delay(downMs);
      await start();
    },
    async dispose() {
      await halt("SIGTERM");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
    [Symbol.asyncDispose]() {
      return this.dispose();
    },
    killSync() {
      try {
        child?.kill("SIGKILL");
      } catch {
        // already gone
      }
      child = undefined;
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already removed
      }
    },
    logTail,
  };
  return server;
}

/**
 * Sends a ZooKeeper four-letter command and returns the reply ("" when it fails or takes over
 * `timeoutMs`: right after a start ZooKeeper may accept a connection and never read it).
 */
export async function fourLetter(port: number, cmd: string, timeoutMs = 2000): Promise<string> {
  let conn: Deno.TcpConn | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const close = () => {
    try {
      conn?.close();
    } catch {
      // closed
    }
    conn = undefined;
  };
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    timer = setTimeout(close, timeoutMs);
    await conn.write(new TextEncoder().encode(cmd));
    let text = "";
    const buf = new Uint8Array(4096);
    const decoder = new TextDecoder();
    while (conn) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
    return text;
  } catch {
    return "";
  } finally {
    clearTimeout(timer);
    close();
  }
}

/**
 * A TCP proxy on 127.0.0.1 in front of `targetPort`. `cut()` drops every connection and refuses
 * new ones (the port stays reserved for us by re-listening on `restore()`), so a client behind it
 * loses ZooKeeper while ZooKeeper goes on, and its session expires on the server.
 */
export interface TcpProxy {
  /** `127.0.0.1:PORT` of the proxy. */
  readonly connectString: string;
  /** The proxy's port. */
  readonly port: number;
  /** Closes all connections and stops listening. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): void;
  /** Closes everything. */
  close(): Promise<void>;
}

/** Starts a {@linkcode TcpProxy} to 127.0.0.1:`targetPort`. */
export function startTcpProxy(targetPort: number): TcpProxy {
  const port = freePort();
  let listener: Deno.TcpListener | undefined;
  let accepting: Promise<void> | undefined;
  const conns = new Set<Deno.Conn>();
  const pumps = new Set<Promise<void>>();

  const closeConn = (c: Deno.Conn) => {
    if (!conns.delete(c)) return;
    try {
      c.close();
    } catch {
      // closed
    }
  };

  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buf);
        if (n === null) break;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // either side closed
    }
    closeConn(from);
    closeConn(to);
  };

  const track = (p: Promise<void>) => {
    pumps.add(p);
    p.finally(() => pumps.delete(p));
  };

  const serve = async (l: Deno.TcpListener) => {
    try {
      for await (const inbound of l) {
        conns.add(inbound);
        let outbound: Deno.Conn;
        try {
          outbound = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        } catch {
          closeConn(inbound);
          continue;
        }
        conns.add(outbound);
        track(pipe(inbound, outbound));
        track(pipe(outbound, inbound));
      }
    } catch {
      // listener closed
    }
  };

  const restore = () => {
    if (listener) return;
    listener = Deno.listen({ hostname: "127.0.0.1", port });
    accepting = serve(listener);
  };

  const cut = async () => {
    const l = listener;
    listener = undefined;
    if (l) {
      try {
        l.close();
      } catch {
        // closed
      }
    }
    await accepting;
    for (const c of [...conns]) closeConn(c);
    await Promise.all([...pumps]);
  };

  restore();
  return {
    connectString: `127.0.0.1:${port}`,
    port,
    cut,
    restore,
    close: cut,
  };
}
