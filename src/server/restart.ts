/**
 * Graceful restart (Go's `Server.Restart`): a new copy of this process is started and takes
 * over the server's ports (each served with `reusePort`, so both listen at once, or, on Node and
 * Bun, its `tcp` listening socket passed to the new process as a descriptor) while this one
 * drains. Go sleeps three seconds and hopes the new process listens by then; here the new
 * process says so: its servers report each address they serve, over a loopback connection
 * named in its environment ({@linkcode RESTART_NOTIFY_ENV}), and the old one shuts down only
 * once every address it serves is served there too.
 *
 * @module
 */
import { RpcxError } from "../protocol/errors.ts";
import { runtime } from "../runtime/mod.ts";
import type { ChildProcessHandle } from "../runtime/types.ts";
import type { Connection } from "../transport/network.ts";
import { splitHostPort } from "../transport/address.ts";
import { deadline } from "../_internal/async.ts";
import type { ShutdownOptions } from "./options.ts";

/**
 * The environment variable that tells a process started by `Server.restart` where to report
 * what it serves, and until when: `host:port token deadline` (ms since epoch; the old process's
 * `readyTimeout`). Past the deadline nothing is reported (the variable stays in the new process's
 * environment, and in what it starts).
 */
export const RESTART_NOTIFY_ENV = "RPCX_RESTART_NOTIFY";

/** Default of {@linkcode RestartOptions.readyTimeout}, ms. */
export const DEFAULT_RESTART_READY_TIMEOUT = 30_000;

/**
 * The environment variable that tells a new process which listening sockets it inherited:
 * `<parent pid> network@address=fd ...` (internal to `Server.restart`). `address` is the one the
 * parent gave `serve` (`localhost:8972`, `:8972`, `:0`), as the new process, running the same
 * program, gives it again. Only a process whose parent is that pid uses it (a variable left in a
 * grandchild's environment names descriptors that are not listening sockets there); it is
 * removed from the environment once read, so what the new process starts does not get it.
 */
const RESTART_LISTENERS_ENV = "RPCX_RESTART_LISTENERS";

/**
 * `network@address` as both sides of a handover compare it: the host lowercased and unbracketed,
 * every wildcard host (none, `0.0.0.0`, `::`) the same.
 */
function listenerKey(network: string, address: string): string {
  try {
    const { hostname, port } = splitHostPort(address);
    const host = hostname.toLowerCase();
    const wildcard = host === "0.0.0.0" || host === "::" || host === "";
    return `${network}@${wildcard ? "*" : host}:${port}`;
  } catch {
    return `${network}@${address}`;
  }
}

/** What `Server.restart` says about each socket it hands over. */
export interface HandedListener {
  /** `network@address` as given to `serve`. */
  readonly requested: string;
  /** `network@address` as bound. */
  readonly address: string;
}

/** The value of {@linkcode RESTART_LISTENERS_ENV} for `handed` (as descriptors 3, 4, ...). */
function listenersEnv(handed: readonly HandedListener[]): string {
  const entries = handed.flatMap((l, i) => {
    const keys = new Set([l.requested, l.address]);
    return [...keys].map((k) => `${k}=${3 + i}`);
  });
  return [String(runtime().process.pid()), ...entries].join(" ");
}

/**
 * The inherited listening sockets not yet claimed: descriptors by key, in the order served (two
 * `serve(":0")` give two), each under its requested and its bound key.
 */
let inherited: Map<string, number[]> | undefined;

/** Reads (once) and removes {@linkcode RESTART_LISTENERS_ENV}; closes what is never claimed. */
function readInherited(): Map<string, number[]> {
  if (inherited) return inherited;
  inherited = new Map();
  const proc = runtime().process;
  const [parent, ...entries] = proc.env(RESTART_LISTENERS_ENV)?.split(" ") ?? [];
  proc.unsetEnv(RESTART_LISTENERS_ENV);
  // Deno is never handed a socket (a value there is another process's).
  if (!proc.passesListeners || !parent || Number(parent) !== proc.parentPid()) return inherited;
  for (const entry of entries) {
    const at = entry.lastIndexOf("=");
    const fd = Number(entry.slice(at + 1));
    const key = entry.slice(0, at);
    const sep = key.indexOf("@");
    if (at > 0 && sep > 0 && Number.isInteger(fd) && fd >= 3) {
      const k = listenerKey(key.slice(0, sep), key.slice(sep + 1));
      const fds = inherited.get(k) ?? [];
      if (!fds.includes(fd)) fds.push(fd);
      inherited.set(k, fds);
    }
  }
  if (inherited.size === 0) return inherited;
  // Once the parent stopped waiting for reports (its readyTimeout), a socket no serve claimed
  // would only queue connections nobody accepts: it is closed.
  const until = notifyDeadline() ?? Date.now();
  const timer = setTimeout(closeUnclaimed, Math.max(0, until - Date.now()));
  runtime().timers.unref(timer);
  return inherited;
}

/** Closes every inherited socket no `serve` claimed (once the restart's report time is over). */
function closeUnclaimed(): void {
  const fds = new Set([...inherited?.values() ?? []].flat());
  inherited?.clear();
  for (const fd of fds) runtime().process.closeDescriptor(fd);
}

/**
 * The listening socket this process inherited from a restart for `network@address` (the address
 * as given to `serve`; `:8972` and `0.0.0.0:8972` are the same), once (a second `serve` of the
 * same address binds anew); undefined when none.
 */
export function inheritedListener(network: string, address: string): number | undefined {
  const map = readInherited();
  const fd = map.get(listenerKey(network, address))?.[0];
  if (fd === undefined) return undefined;
  for (const [k, fds] of map) {
    const rest = fds.filter((f) => f !== fd);
    if (rest.length) map.set(k, rest);
    else map.delete(k);
  }
  return fd;
}

/**
 * Options of `Server.restart`; the shutdown that follows takes `timeout` and `signal`.
 *
 * @example
 * ```ts
 * import type { RestartOptions } from "@rpcx/core";
 * const o: RestartOptions = { readyTimeout: 10_000, timeout: 5_000 };
 * console.log(o.readyTimeout);
 * ```
 */
export interface RestartOptions extends ShutdownOptions {
  /**
   * The new process's command line, `[program, ...args]`. Default: this process's own (Go:
   * `os.Args`), flags included (Deno: read from `/proc/self/cmdline`, Linux only, with read
   * access to it; elsewhere give it).
   */
  command?: readonly string[];
  /** Variables added to the new process's environment (it gets this one's). */
  env?: Readonly<Record<string, string>>;
  /**
   * How long the new process may take to serve every address this server serves, ms (default
   * {@linkcode DEFAULT_RESTART_READY_TIMEOUT}, 30 000). Past it the new process is ended and
   * `restart` rejects with {@linkcode RestartError}; this server goes on serving.
   */
  readyTimeout?: number;
}

/**
 * `Server.restart` could not hand over: no command line, a listener without `reusePort` that this
 * runtime cannot pass (Deno; a network other than `tcp`), a `unix` listener (with or without
 * `reusePort`: its path cannot be shared), or the new process did not serve every address in
 * time (or ended before). This server is still serving.
 *
 * @example
 * ```ts
 * import { RestartError } from "@rpcx/core";
 * console.log(new RestartError("no command").message); // "rpcx: restart: no command"
 * ```
 */
export class RestartError extends RpcxError {
  /** Creates the error. */
  constructor(detail: string, options?: ErrorOptions) {
    super(`rpcx: restart: ${detail}`, options);
  }
}

let notifyTarget:
  | { hostname: string; port: number; token: string; until: number }
  | null
  | undefined;

function readNotifyTarget() {
  if (notifyTarget === undefined) {
    const spec = runtime().process.env(RESTART_NOTIFY_ENV)?.split(" ");
    notifyTarget = null;
    if (spec?.length === 3) {
      try {
        notifyTarget = { ...splitHostPort(spec[0]), token: spec[1], until: Number(spec[2]) };
      } catch {
        // not ours
      }
    }
  }
  return notifyTarget;
}

/** Until when (ms since epoch) this process's restart report is awaited; undefined: none. */
function notifyDeadline(): number | undefined {
  const until = readNotifyTarget()?.until;
  return Number.isFinite(until) ? until : undefined;
}

/**
 * In a process started by `Server.restart`: tells its parent that `address` (`network@addr`) is
 * served. Best effort, bounded (1 s); nothing when the process was not started that way (or, on
 * Deno, may not read {@linkcode RESTART_NOTIFY_ENV}).
 */
export async function notifyServing(address: string): Promise<void> {
  const t = readNotifyTarget();
  if (!t || !(Date.now() < t.until)) return;
  let conn: Connection | undefined;
  try {
    conn = await runtime().sockets.connect(
      { transport: "tcp", hostname: t.hostname, port: t.port },
      { network: "tcp", label: `tcp@${t.hostname}:${t.port}`, timeout: 1000 },
    );
    const line = new TextEncoder().encode(`${t.token} ${address}\n`);
    for (let at = 0; at < line.length;) at += await conn.write(line.subarray(at));
  } catch {
    // the parent is gone or gave up: nothing to tell
  } finally {
    conn?.close();
  }
}

/** Reads one line (at most 1 KiB) from `conn`; undefined when it ends first. */
async function readLine(conn: Connection): Promise<string | undefined> {
  const buf = new Uint8Array(1024);
  let n = 0;
  while (n < buf.length) {
    const got = await conn.read(buf.subarray(n));
    if (got === null) return undefined;
    n += got;
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl >= 0) return new TextDecoder().decode(buf.subarray(0, nl));
  }
  return undefined;
}

/**
 * Hands `served` (each listener's `network@address`) over to a new process: checks that each is
 * served with `reusePort`, runs `before` (the onRestart functions), starts the command with
 * {@linkcode RESTART_NOTIFY_ENV} set and waits until its servers report every address. Resolves
 * with the process; rejects with {@linkcode RestartError} (the process, if started, is ended).
 */
export async function startSuccessor(
  served: readonly (HandedListener & { reusePort: boolean; fd?: number })[],
  options: RestartOptions,
  before: () => Promise<void>,
): Promise<ChildProcessHandle> {
  if (served.length === 0) throw new RestartError("the server serves no address");
  // A Unix socket's path is bound by one process alone (reusePort does not apply: the `unix`
  // network ignores it), and closing the old listener removes the path the new one would serve.
  const unix = served.find((l) => l.address.startsWith("unix@"));
  if (unix) {
    throw new RestartError(
      `${unix.address} is a Unix socket: its path cannot be shared with a new process (reusePort ` +
        "does not apply) nor handed over; restart hands over tcp, http, ws and wss addresses",
    );
  }
  // Without reusePort the listening socket itself goes to the new process where the runtime
  // can pass it (Node, Bun): both accept from it until this one closes its copy.
  const passes = runtime().process.passesListeners;
  const fixed = served.find((l) => !l.reusePort && !(passes && l.fd !== undefined));
  if (fixed) {
    throw new RestartError(
      `${fixed.address} is served without reusePort, and this runtime cannot hand its socket ` +
        "to a new process, so it cannot listen there while this one drains: serve it with " +
        "{ reusePort: true }",
    );
  }
  const handed = served.filter((l) => !l.reusePort);
  const command = options.command ?? runtime().process.commandLine();
  if (!command?.length) {
    throw new RestartError("this process's command line cannot be told here: give `command`");
  }
  await before();
  const addresses = served.map((l) => l.address);
  const listener = await runtime().sockets.listen(
    { transport: "tcp", hostname: "127.0.0.1", port: 0 },
    { network: "tcp", address: "127.0.0.1:0" },
  );
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const missing = new Set(addresses);
  let child: ChildProcessHandle | undefined;
  try {
    const ms = options.readyTimeout ?? DEFAULT_RESTART_READY_TIMEOUT;
    child = runtime().process.spawn(
      command,
      {
        ...options.env,
        [RESTART_NOTIFY_ENV]: `${listener.address} ${token} ${Date.now() + ms}`,
        // Always set: one this process inherited must not reach its successor.
        [RESTART_LISTENERS_ENV]: listenersEnv(handed),
      },
      handed.map((l) => l.fd!),
    );
    const started = child;
    const reported = (async () => {
      for await (const conn of listener) {
        // One line, soon: a peer that connects and says nothing holds no one up.
        const line = await deadline(readLine(conn), 2000, {
          onTimeout: () => new RestartError("no line in 2 s"),
        }).catch(() => undefined);
        conn.close();
        const [got, address] = line?.split(" ") ?? [];
        if (got === token && address) missing.delete(address);
        if (missing.size === 0) return;
      }
    })();
    // The new process ending first fails the wait at once.
    const exited = new AbortController();
    started.exited.then((code) =>
      exited.abort(new RestartError(`the new process (${command[0]}) ended (exit code ${code})`))
    );
    await deadline(reported, ms, {
      signal: exited.signal,
      onTimeout: () =>
        new RestartError(`the new process did not serve ${[...missing]} in ${ms} ms`),
    });
    return started;
  } catch (e) {
    child?.kill();
    throw e instanceof RestartError ? e : new RestartError(String(e), { cause: e });
  } finally {
    await listener.close();
  }
}
