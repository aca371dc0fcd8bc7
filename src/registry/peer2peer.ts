/**
 * Peer2Peer discovery: one fixed server.
 *
 * @module
 */
import { BaseDiscovery, type ServiceDiscovery } from "./discovery.ts";

/**
 * One fixed server, `network@host:port`, with an optional metadata string. Never changes.
 *
 * @example
 * ```ts
 * import { Peer2PeerDiscovery } from "@rpcx/core";
 * const d = new Peer2PeerDiscovery("tcp@127.0.0.1:8972");
 * console.log(d.getServices()); // [{ key: "tcp@127.0.0.1:8972", value: "" }]
 * ```
 */
export class Peer2PeerDiscovery extends BaseDiscovery {
  /** The server, `network@host:port`. */
  readonly server: string;
  /** Its metadata string. */
  readonly metadata: string;

  /** Points at `server` (`tcp@host:port`; a bare `host:port` means tcp). */
  constructor(server: string, metadata = "") {
    super();
    this.server = server.includes("@") ? server : `tcp@${server}`;
    this.metadata = metadata;
    this.publish([{ key: this.server, value: metadata }]);
  }

  /** The same server (it serves every service path). */
  clone(_servicePath: string): ServiceDiscovery {
    return new Peer2PeerDiscovery(this.server, this.metadata);
  }
}
