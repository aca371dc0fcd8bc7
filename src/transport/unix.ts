/**
 * The `unix` network: a Unix domain stream socket; the address is its path (`unix@/tmp/rpcx.sock`).
 * The sockets come from the runtime seam (`runtime().sockets`).
 *
 * @module
 */
import type { Connection, DialOptions, Listener, Network } from "./network.ts";
import { runtime } from "../runtime/mod.ts";

/**
 * The `unix` network. Listening fails with `ListenError` when the path exists (as Go's
 * `net.Listen("unix")`: `listen unix /tmp/rpcx.sock: bind: address already in use`); closing the
 * listener removes the path (as Go's). Dialing a path nobody listens on is a
 * `ConnectionRefusedError`.
 *
 * @example
 * ```ts
 * import { unixNetwork } from "@rpcx/core/extend";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * const path = `${mkdtempSync(`${tmpdir()}/rpcx-`)}/rpcx.sock`;
 * const listener = await unixNetwork.listen(path);
 * const conn = await unixNetwork.dial(path);
 * conn.close();
 * await listener.close();
 * ```
 */
export const unixNetwork: Network = {
  name: "unix",
  dial(address: string, options: DialOptions = {}): Promise<Connection> {
    return runtime().sockets.connect({ transport: "unix", path: address }, {
      network: "unix",
      label: `unix@${address}`,
      timeout: options.timeout ?? 1000,
    });
  },
  listen(address: string): Promise<Listener> {
    return runtime().sockets.listen({ transport: "unix", path: address }, {
      network: "unix",
      address,
    });
  },
};
