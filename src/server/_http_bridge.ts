/**
 * The bridge between the server and the HTTP side of its port: the server's implementation of
 * `HttpHost` (an HTTP request goes through the same request pipeline as a frame from an rpcx
 * connection; the HTTP hooks are the plugin chain's), and the sniff that hands a TCP
 * connection whose first byte is not rpcx's to the HTTP side (Go's cmux).
 *
 * @module
 */
import { MAGIC_NUMBER } from "../protocol/constants.ts";
import type { Message } from "../protocol/message.ts";
import type { Connection } from "../transport/network.ts";
import type { HttpCallOutcome, HttpHost, HttpWrite } from "../http/host.ts";
import { RpcxHttpServer } from "../http/http_server.ts";
import type { HttpServerSettings } from "../http/options.ts";
import type { ConnInfo } from "./context.ts";
import { AUTH_FAILED } from "./_dispatch.ts";
import type { Exchange, RequestPipeline } from "./_pipeline.ts";
import type { ErrorReporter, PluginChain } from "./_plugin_chain.ts";
import { ServerClosedError } from "./options.ts";

/** What the bridge needs from its server. */
export interface HttpBridgeOptions {
  readonly pipeline: RequestPipeline;
  readonly plugins: PluginChain;
  /** Whether new calls are taken (false once the server shuts down). */
  readonly accepting: () => boolean;
  readonly report: ErrorReporter;
  /** The server's `errorText`. */
  readonly errorText: (error: unknown) => string;
}

/** The HTTP side of a server, and the sniff for its TCP ports (undefined when HTTP is off). */
export interface HttpBridge {
  readonly http: RpcxHttpServer;
  readonly sniff: ((conn: Connection, head: Uint8Array, info: ConnInfo) => boolean) | undefined;
}

/** Builds the HTTP side of a server with `settings`. */
export function httpBridge(o: HttpBridgeOptions, settings: HttpServerSettings): HttpBridge {
  const plugins = o.plugins;
  const host: HttpHost = {
    handle: (req, conn, write) => handle(o, req, conn, write),
    preReadHttp: (conn) => plugins.preReadHttp(conn),
    preReadJsonRpc: (conn) => plugins.preReadJsonRpc(conn),
    postHTTPRequest: (req, conn) => plugins.postHTTPRequest(req, conn),
    report: o.report,
    errorText: o.errorText,
  };
  const http = new RpcxHttpServer(host, settings);
  return {
    http,
    // HTTP invoke and JSON-RPC share a TCP port: the first byte tells (as Go's cmux).
    sniff: http.enabled
      ? (conn, head, info) => head[0] !== MAGIC_NUMBER && http.take(conn, head, info)
      : undefined,
  };
}

/** One request from the HTTP side, through the pipeline; its response goes to `write`. */
async function handle(
  o: HttpBridgeOptions,
  req: Message,
  info: ConnInfo,
  write: HttpWrite,
): Promise<HttpCallOutcome> {
  let writing: void | Promise<void> | undefined;
  let wrote = false;
  const ex: Exchange = {
    refused: () => {},
    take: o.accepting,
    write: (res, closing) => {
      wrote = true;
      writing = write(res, closing);
    },
    written: async () => await writing,
  };
  const out = await o.pipeline.handle(req, info, ex);
  if (out === "refused") {
    return { kind: "refused", error: "rpcx: request refused by a postReadRequest plugin" };
  }
  if (out === "untaken") return { kind: "refused", error: new ServerClosedError() };
  if (wrote) {
    await writing;
    return { kind: "written" };
  }
  if (typeof out === "object" && out.close) return { kind: "auth", error: AUTH_FAILED };
  return { kind: "reply", res: undefined };
}
