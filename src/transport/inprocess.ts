/**
 * The `inprocess` network: servers and clients of one process talk over in-memory pipes, no
 * socket (`Server.serve("inprocess", name)`, `new Client("inprocess@name")`). It is a
 * {@linkcode PipeNetwork} registered in `defaultNetworks` like `tcp` or `unix`: the Server and
 * Client know nothing of it, and a network of your own on {@linkcode pipe} gets everything it has.
 *
 * @module
 */
import { PipeNetwork } from "./pipe.ts";

/**
 * The process-wide `inprocess` network: names are served in one table for the whole process (a
 * name served twice is `ListenError` "in-use"; dialing a name nobody serves is
 * `ConnectionRefusedError`). Messages are framed and decoded as on a socket, so behaviour
 * (codecs, limits, pushes and their backpressure, timeouts, drain, plugins' `connAccept` and
 * `connClose`) is the network path's. For a separate namespace (tests), register a
 * `new PipeNetwork("inprocess")` in a `NetworkRegistry` of your own.
 *
 * @example
 * ```ts
 * import { Client, Server } from "@rpcx/core";
 * import { inprocessNetwork } from "@rpcx/core/extend";
 * const server = new Server();
 * await server.register({ Mul: (a: { A: number; B: number }) => ({ C: a.A * a.B }) }, "Arith");
 * await server.serve("inprocess", "arith-doc");
 * console.log(inprocessNetwork.has("arith-doc")); // true
 * const client = new Client("inprocess@arith-doc");
 * console.log(await client.call("Arith", "Mul", { A: 6, B: 7 })); // { C: 42 }
 * await client.close();
 * await server.close();
 * ```
 */
export const inprocessNetwork: PipeNetwork = new PipeNetwork("inprocess");
