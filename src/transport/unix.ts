/**
 * The `unix` network: a Unix domain stream socket; the address is its path (`unix@/tmp/rpcx.sock`).
 *
 * @module
 */
import { DialTimeoutError } from "./errors.ts";
import type { Connection, DialOptions, Listener, Network } from "./network.ts";
import { dialError, SocketConnection, SocketListener } from "./tcp.ts";
import { withTimeout } from "./_stream.ts";
import { denoListenError } from "../adapter/deno/errors.ts";

/**
 * The `unix` network. Listening fails when the path exists (as Go's `net.Listen("unix")`);
 * dialing a path nobody listens on is a `ConnectionRefusedError`.
 *
 * @example
 * ```ts
 * import { unixNetwork } from "@rpcx/core";
 * const path = await Deno.makeTempFile();
 * await Deno.remove(path);
 * const listener = await unixNetwork.listen(path);
 * const conn = await unixNetwork.dial(path);
 * conn.close();
 * listener.close();
 * ```
 */
export const unixNetwork: Network = {
  name: "unix",
  async dial(address: string, options: DialOptions = {}): Promise<Connection> {
    const label = `unix@${address}`;
    const timeout = options.timeout ?? 1000;
    const dialing = Deno.connect({ transport: "unix", path: address });
    try {
      const conn = await withTimeout(dialing, timeout, () => new DialTimeoutError(label, timeout));
      return new SocketConnection(conn, "unix");
    } catch (e) {
      dialing.then((c) => c.close(), () => {});
      throw dialError(label, e);
    }
  },
  /** Listens on the socket path; closing the listener removes the path (as Go's). */
  listen(address: string): Promise<Listener> {
    try {
      return Promise.resolve(
        new SocketListener(Deno.listen({ transport: "unix", path: address }), "unix"),
      );
    } catch (e) {
      return Promise.reject(denoListenError("unix", address, e));
    }
  },
};
