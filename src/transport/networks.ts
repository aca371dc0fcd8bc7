/**
 * The process-wide table of networks: `tcp` (`tcp4`, `tcp6`), `unix`, `http`, `ws`, `wss`, and
 * `inprocess` (in-memory pipes, `src/transport/inprocess.ts`).
 *
 * @module
 */
import { NetworkRegistry } from "./network.ts";
import { tcpNetwork } from "./tcp.ts";
import { unixNetwork } from "./unix.ts";
import { httpNetwork } from "./http.ts";
import { wsNetwork, wssNetwork } from "./ws.ts";
import { inprocessNetwork } from "./inprocess.ts";

/**
 * The networks the Server and Client use unless given their own `networks`.
 *
 * @example
 * ```ts
 * import { defaultNetworks } from "@rpcx/core/extend";
 * console.log(defaultNetworks.has("wss")); // true
 * ```
 */
export const defaultNetworks: NetworkRegistry = new NetworkRegistry()
  .register(tcpNetwork, "tcp4", "tcp6")
  .register(unixNetwork)
  .register(httpNetwork)
  .register(wsNetwork)
  .register(wssNetwork)
  .register(inprocessNetwork);
