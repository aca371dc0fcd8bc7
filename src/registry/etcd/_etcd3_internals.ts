/**
 * Two repairs of the `etcd3` package (1.1) that reach into its internals, each left as etcd3 has
 * it when those internals are not what they expect: the channel etcd3 opens for each auth token
 * fetch is closed once the token is in ({@linkcode closeTokenChannels}), and closing a client
 * ends a watch stream still open ({@linkcode endWatchStream}). Both keep a closed client from
 * leaving an HTTP/2 session to etcd behind (issue 26: README, "etcd and Deno's node:http2").
 *
 * @module
 */
import { Metadata } from "@grpc/grpc-js";
import { castGrpcError, type Etcd3, type IOptions } from "etcd3";
import { EtcdError } from "./errors.ts";

/** The slot of etcd3's connection pool that fetches an auth token (etcd3 1.1, internal). */
type TokenFetch = (
  address: string,
  name: string,
  password: string,
  callOptions: unknown,
  credentials: unknown,
) => Promise<string>;

/** The parts of etcd3's internals this module reaches into (etcd3 1.1). */
interface Etcd3Internals {
  pool?: {
    authenticator?: { getCredentialsFromHost?: TokenFetch };
    hosts?: { constructor: unknown }[];
  };
  watchManager?: {
    state?: number;
    watchers?: unknown[];
    stream?: { cancel?(): void };
  };
}

/** etcd3's per-host clients (its `Host` class), as the token fetch uses them. */
interface TokenHost {
  getServiceClient(name: "Auth"): {
    authenticate(
      req: { name: string; password: string },
      metadata: Metadata,
      options: unknown,
      cb: (e: Error | null, res?: { token: string }) => void,
    ): void;
  };
  close(): void;
}

/**
 * Makes etcd3 close the gRPC channel it opens for each auth token fetch once the token is in.
 * etcd3 1.1 makes a new `Auth` client per fetch (`Authenticator.getCredentialsFromHost`) and
 * never closes it, so every client with a user and password kept one idle HTTP/2 connection per
 * token it fetched until the process ended. When etcd then stopped or restarted, it sent that
 * idle connection a GOAWAY, and Deno 2.9's node:http2 may abort the whole process on a GOAWAY
 * that reaches a session whose finished streams were garbage collected (nghttp2's
 * `find_stream_on_goaway_func` assertion, or SIGSEGV; README, issue 26). The fetch here is the
 * same call on a channel made like the pool's own (our options: bounded connect, keepalive),
 * closed on the next turn after the answer. Left as etcd3 has it when its internals differ.
 */
export function closeTokenChannels(client: Etcd3, grpcOptions: IOptions["grpcOptions"]): void {
  const pool = (client as unknown as Etcd3Internals).pool;
  const authenticator = pool?.authenticator;
  const Host = pool?.hosts?.[0]?.constructor as
    | (new (host: string, credentials: unknown, options: unknown) => TokenHost)
    | undefined;
  if (typeof authenticator?.getCredentialsFromHost !== "function" || !Host) return;
  authenticator.getCredentialsFromHost = async (address, name, password, callOptions, creds) => {
    const host = new Host(address, creds, grpcOptions);
    try {
      return await new Promise<string>((resolve, reject) => {
        host.getServiceClient("Auth").authenticate(
          { name, password },
          new Metadata(),
          callOptions ?? {},
          (e, res) => {
            if (e || !res) {
              reject(
                e ? castGrpcError(e) : new EtcdError("etcd: no auth token in the answer", {
                  operation: "authenticate",
                }),
              );
            } else resolve(res.token);
          },
        );
      });
    } finally {
      // on a later turn, not from inside the call's own events
      setTimeout(() => host.close(), 0);
    }
  };
}

/**
 * Cancels the watch stream etcd3 still has open (a watcher whose cancel did not complete, or
 * that nobody cancelled), so that closing the channels leaves no HTTP/2 session behind waiting
 * for a stream that never ends (a session left so is ended by etcd's GOAWAY when it stops: see
 * {@linkcode closeTokenChannels}).
 */
export function endWatchStream(client: Etcd3): void {
  const manager = (client as unknown as Etcd3Internals).watchManager;
  if (!manager || !Array.isArray(manager.watchers)) return;
  // No watcher left: a stream still being opened is cancelled as soon as it is (etcd3 does that
  // when it finds no watchers), and one that ends is not re-opened.
  manager.watchers = [];
  // etcd3's WatchManager: state 2 is Connected (its stream is open)
  if (manager.state !== 2 || typeof manager.stream?.cancel !== "function") return;
  try {
    manager.stream.cancel();
  } catch {
    // already ended
  }
}
