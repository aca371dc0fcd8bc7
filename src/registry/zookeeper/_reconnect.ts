/**
 * How a ZooKeeper client (node-zookeeper-client 1.x) finds a server and is shut down:
 * {@linkcode patchReconnects} (servers that answer first, every attempt bounded) and
 * {@linkcode shutdownClient}. Internal to {@linkcode "./session.ts".ZkSession}.
 *
 * @module
 */
import { sleep, within } from "../../_internal/async.ts";
import { type EndpointHealth, parseEndpoint } from "../_endpoint_health.ts";

/** The client's socket, as far as we use it. */
export interface ZkSocket {
  destroy(): void;
  once(event: "close", listener: () => void): void;
  once(event: "data", listener: () => void): void;
  once(event: "error", listener: (e: Error) => void): void;
  readonly destroyed?: boolean;
}

/** node-zookeeper-client's ConnectionManager, as far as we use it. */
export interface ZkConnectionManager {
  state: number;
  socket?: ZkSocket;
  connectTimeoutHandler?: ReturnType<typeof setTimeout> | null;
  servers: { host: string; port: string | number }[];
  nextServerIndex: number;
  serverAttempts: number;
  spinDelay: number;
  findNextServer(callback: (server: unknown) => void): void;
}

/** The parts of a client that {@linkcode shutdownClient} needs. */
export interface ZkClientLike {
  close(): void;
  readonly connectionManager: ZkConnectionManager;
}

// ConnectionManager states.
const CM_CONNECTING = 1;
const CM_CONNECTED = 2;
const CM_CONNECTED_READ_ONLY = 3;

/**
 * Patches a client's reconnect path (node-zookeeper-client 1.x) and returns the function that
 * stops reconnecting for good:
 * - its server picker tries the servers in a fixed (shuffled) order, a dead one as often as a
 *   live one, and keeps an anonymous spin timer that, once the client is closed while
 *   reconnecting, could open a socket again. Ours picks servers that answer
 *   ({@linkcode EndpointHealth}: all are dialled at once, a server whose attempt failed is
 *   avoided for a while), waits for the first dials before the first pick, and can be
 *   cancelled;
 * - it bounds the TCP connect only by sessionTimeout / servers, and the handshake not at all: a
 *   server that drops SYNs, or that accepts the TCP connection but never answers the connect
 *   request (seen with ZooKeeper 3.8 right after a restart: the request stays unread in its
 *   socket), leaves the client CONNECTING for long or for ever. Like the Java client's
 *   read timeout, we drop such a socket after `handshakeMs` and try another server.
 */
export function patchReconnects(
  client: ZkClientLike,
  handshakeMs: number,
  health: EndpointHealth,
): () => void {
  const cm = client.connectionManager;
  // the server objects of the client (shuffled by it) → the endpoint strings health knows
  const byAddress = new Map<string, string>();
  for (const endpoint of health.endpoints) {
    const a = parseEndpoint(endpoint, 2181);
    if (a) byAddress.set(`${a.hostname}:${a.port}`, endpoint);
  }
  const endpointOf = (i: number) => {
    const s = cm.servers[i];
    return byAddress.get(`${s.host}:${Number(s.port)}`) ?? `${s.host}:${s.port}`;
  };
  let stopped = false;
  /** Ends the pause between rounds when reconnects stop. */
  const spin = new AbortController();
  let handshake: ReturnType<typeof setTimeout> | undefined;
  /** The attempt in progress: which server, and whether it got a session. */
  let current: { endpoint: string; established: boolean; why: string } | undefined;
  /** Servers tried since the last session was established, by index in cm.servers. */
  const tried = new Set<number>();

  const attempt = (index: number, callback: (server: unknown) => void) => {
    if (stopped) return;
    tried.add(index);
    cm.nextServerIndex = index;
    const mine = { endpoint: endpointOf(index), established: false, why: "connection closed" };
    current = mine;
    callback(cm.servers[index]); // opens cm.socket synchronously
    const socket = cm.socket;
    socket?.once("error", (e) => (mine.why = e.message));
    // the library's own data handler runs first: after the connect answer it is CONNECTED
    socket?.once("data", () => {
      if (cm.state === CM_CONNECTED || cm.state === CM_CONNECTED_READ_ONLY) {
        mine.established = true;
        tried.clear();
        health.reportUp(mine.endpoint);
      }
    });
    clearTimeout(handshake);
    handshake = setTimeout(() => {
      handshake = undefined;
      if (!stopped && cm.socket === socket && cm.state === CM_CONNECTING) {
        mine.why = `no session within ${handshakeMs} ms`;
        socket?.destroy();
      }
    }, handshakeMs);
  };

  /** The next server to try: one that answers, not yet tried in this round; else undefined. */
  const next = (): number | undefined => {
    const rank = (i: number) => {
      const state = health.state(endpointOf(i));
      return state === "up" ? 0 : state === "unknown" ? 1 : 2;
    };
    let best: number | undefined;
    for (let i = 0; i < cm.servers.length; i++) {
      if (tried.has(i)) continue;
      if (best === undefined || rank(i) < rank(best)) best = i;
    }
    return best !== undefined && rank(best) < 2 ? best : undefined;
  };

  const pick = async (callback: (server: unknown) => void) => {
    // the first pick waits for the first dials (at most one dial timeout)
    await health.whenKnown(health.dialTimeout);
    for (;;) {
      if (stopped) return;
      const i = next();
      if (i !== undefined) return attempt(i, callback);
      // every server was tried or does not answer: dial them all again, and after a pause
      // (as the library's own picker) a new round
      tried.clear();
      await health.refresh(health.dialTimeout);
      if (stopped) return;
      await sleep(Math.random() * cm.spinDelay, spin.signal);
    }
  };

  cm.findNextServer = (callback: (server: unknown) => void): void => {
    if (stopped) return;
    const last = current;
    current = undefined;
    // an attempt that never got a session: that server is avoided for a while
    if (last && !last.established) health.reportDown(last.endpoint, last.why);
    void pick(callback);
  };
  return () => {
    stopped = true;
    spin.abort();
    clearTimeout(handshake);
    handshake = undefined;
  };
}

/** Closes a client: CLOSE_SESSION when connected, then no more reconnects and no timers left. */
export async function shutdownClient(
  client: ZkClientLike,
  stopReconnects: (() => void) | undefined,
  waitMs: number,
): Promise<void> {
  const cm = client.connectionManager;
  stopReconnects?.();
  const live = cm.state === CM_CONNECTED || cm.state === CM_CONNECTED_READ_ONLY;
  const socket = cm.socket;
  if (live && socket && !socket.destroyed) {
    const closed = within(new Promise<void>((resolve) => socket.once("close", resolve)), waitMs);
    try {
      client.close(); // the server answers CLOSE_SESSION and closes the socket
    } catch {
      // already closing
    }
    await closed;
  } else {
    try {
      client.close();
    } catch {
      // already closing
    }
  }
  try {
    cm.socket?.destroy();
  } catch {
    // already destroyed
  }
  if (cm.connectTimeoutHandler) clearTimeout(cm.connectTimeoutHandler);
  cm.connectTimeoutHandler = null;
}
