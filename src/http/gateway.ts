/**
 * HTTP invoke: an HTTP request whose `X-RPCX-*` headers describe an rpcx request and whose body is
 * its payload, answered as Go rpcx's gateway answers (`server/gateway.go`, `server/converter.go`).
 *
 * @module
 */
import { MessageStatusType, MessageType, MetadataKeys } from "../protocol/constants.ts";
import { RpcxError } from "../protocol/errors.ts";
import { createMessage, type Message } from "../protocol/message.ts";
import type { ConnInfo } from "../transport/network.ts";
import { detectContentType } from "../_internal/go/content_type.ts";
import { atoi, parseUint } from "../_internal/go/strconv.ts";
import { encodeValues } from "../_internal/go/url.ts";
import { errorMessage, type HttpAnswer, httpError } from "./_answer.ts";
import type { HttpHost } from "./host.ts";
import { readMeta } from "./_meta.ts";

/**
 * The header names of HTTP invoke, as Go rpcx spells them (`server.XVersion` …). HTTP header
 * names ignore case; Go writes them in canonical form (`X-Rpcx-Messageid`).
 *
 * @example
 * ```ts
 * import { RpcxHttpHeaders } from "@rpcx/core/protocol";
 * const headers = {
 *   [RpcxHttpHeaders.ServicePath]: "Arith",
 *   [RpcxHttpHeaders.ServiceMethod]: "Mul",
 *   [RpcxHttpHeaders.SerializeType]: "1",
 * };
 * console.log(headers);
 * ```
 */
export const RpcxHttpHeaders = {
  Version: "X-RPCX-Version",
  MessageType: "X-RPCX-MessageType",
  Heartbeat: "X-RPCX-Heartbeat",
  Oneway: "X-RPCX-Oneway",
  MessageStatusType: "X-RPCX-MessageStatusType",
  SerializeType: "X-RPCX-SerializeType",
  CompressType: "X-RPCX-CompressType",
  MessageID: "X-RPCX-MessageID",
  ServicePath: "X-RPCX-ServicePath",
  ServiceMethod: "X-RPCX-ServiceMethod",
  Meta: "X-RPCX-Meta",
  ErrorMessage: "X-RPCX-ErrorMessage",
} as const;

/** First values of a request's headers by lower-case name (Go's `Header.Get`). */
export type FirstHeaders = ReadonlyMap<string, string>;

/** Lower-case names, made once rather than per request. */
const lowerNames = new Map<string, string>();
const get = (h: FirstHeaders, name: string) => {
  let lower = lowerNames.get(name);
  if (lower === undefined) lowerNames.set(name, lower = name.toLowerCase());
  return h.get(lower) ?? "";
};

/**
 * Builds the rpcx request an HTTP invoke describes (Go's `HTTPRequest2RpcxRequest`); throws Go's
 * error text for a malformed header.
 */
export function httpRequestToMessage(headers: FirstHeaders, body: Uint8Array): Message {
  const msg = createMessage({ messageType: MessageType.Request, payload: body });
  const seq = get(headers, RpcxHttpHeaders.MessageID);
  if (seq !== "") msg.seq = parseUint(seq);
  if (get(headers, RpcxHttpHeaders.Heartbeat) !== "") msg.heartbeat = true;
  if (get(headers, RpcxHttpHeaders.Oneway) !== "") msg.oneway = true;
  const st = get(headers, RpcxHttpHeaders.SerializeType);
  // Go converts Atoi's int to a byte: its low 8 bits, then the header keeps 4 (or 3).
  if (st !== "") msg.serializeType = Number(BigInt.asUintN(4, atoi(st)));
  const ct = get(headers, RpcxHttpHeaders.CompressType);
  if (ct !== "") msg.compressType = Number(BigInt.asUintN(3, atoi(ct))) as Message["compressType"];
  const meta = get(headers, RpcxHttpHeaders.Meta);
  if (meta !== "") {
    const [metadata, error] = readMeta(meta);
    if (error) throw error;
    msg.metadata = metadata;
  }
  const auth = get(headers, "Authorization");
  if (auth !== "") msg.metadata[MetadataKeys.Auth] = auth;
  msg.servicePath = get(headers, RpcxHttpHeaders.ServicePath);
  msg.serviceMethod = get(headers, RpcxHttpHeaders.ServiceMethod);
  return msg;
}

/**
 * An HTTP invoke without a header Go's gateway needs; the message is Go's (`empty servicepath`,
 * `empty servicemethod`, `empty serialized type`), sent back in `X-Rpcx-Errormessage`.
 */
class MissingHeaderError extends RpcxError {}

/** Go writes header names canonically. */
const H = {
  Version: "X-Rpcx-Version",
  MessageID: "X-Rpcx-Messageid",
  ServicePath: "X-Rpcx-Servicepath",
  ServiceMethod: "X-Rpcx-Servicemethod",
  SerializeType: "X-Rpcx-Serializetype",
  MessageStatusType: "X-Rpcx-Messagestatustype",
  ErrorMessage: "X-Rpcx-Errormessage",
  Meta: "X-Rpcx-Meta",
} as const;

const EMPTY = new Uint8Array(0);

/**
 * Answers one HTTP invoke through `send` (which resolves once the answer is written): `urlPath`
 * is the request path (unescaped), used as the service path when the header has none.
 */
export async function handleGateway(
  host: HttpHost,
  conn: ConnInfo,
  headers: FirstHeaders,
  urlPath: string,
  body: Uint8Array,
  send: (answer: HttpAnswer) => void | Promise<void>,
): Promise<void> {
  const out: [string, string][] = [];
  const servicePath = get(headers, RpcxHttpHeaders.ServicePath) || urlPath.replace(/^\//, "");
  let req: Message | undefined;
  let err: unknown;
  try {
    req = httpRequestToMessage(headers, body);
    req.servicePath = servicePath;
  } catch (e) {
    err = e;
  }
  out.push([H.Version, get(headers, RpcxHttpHeaders.Version)]);
  out.push([H.MessageID, get(headers, RpcxHttpHeaders.MessageID)]);
  // Go's checks, including which headers each one leaves out.
  if (err === undefined && servicePath === "") err = new MissingHeaderError("empty servicepath");
  else out.push([H.ServicePath, servicePath]);
  const method = get(headers, RpcxHttpHeaders.ServiceMethod);
  if (err === undefined && method === "") err = new MissingHeaderError("empty servicemethod");
  else out.push([H.ServiceMethod, method]);
  const st = get(headers, RpcxHttpHeaders.SerializeType);
  if (err === undefined && st === "") err = new MissingHeaderError("empty serialized type");
  else out.push([H.SerializeType, st]);
  if (err !== undefined || req === undefined) {
    out.push([H.MessageStatusType, "Error"], [H.ErrorMessage, errorMessage(err)]);
    return send({ status: 200, headers: out, body: EMPTY });
  }
  // Go dispatches an HTTP heartbeat as a call: the flag reaches no handler.
  req.heartbeat = false;
  // The answer is made and written inside the server's pipeline, between preWriteResponse and
  // postWriteResponse (Go sets X-Rpcx-Meta and calls w.Write before postWriteResponse).
  const outcome = await host.handle(req, conn, (res, closing) => send(answer(out, res, closing)));
  switch (outcome.kind) {
    case "written":
      return;
    case "refused":
      return send(httpError(500, host.errorText(outcome.error)));
    case "auth":
      out.push([H.MessageStatusType, "Error"], [H.ErrorMessage, host.errorText(outcome.error)]);
      return send({ status: 401, headers: out, body: EMPTY });
    case "reply":
      // oneway: Go still answers, with empty metadata and no body.
      out.push([H.Meta, ""]);
      return send({ status: 200, headers: out, body: EMPTY });
  }
}

/** The answer carrying `res`, after the headers `out` has so far; `closing`: auth refused. */
function answer(out: [string, string][], res: Message, closing: boolean): HttpAnswer {
  if (closing || res.status === MessageStatusType.Error) {
    out.push(
      [H.MessageStatusType, "Error"],
      [H.ErrorMessage, res.metadata[MetadataKeys.ServiceError] ?? ""],
    );
    return { status: closing ? 401 : 500, headers: out, body: EMPTY };
  }
  out.push([H.Meta, encodeValues(res.metadata)]);
  // Go's reply is a clone of the request with compression off: no X-Rpcx-Compresstype.
  if (res.payload.byteLength > 0) out.push(["Content-Type", detectContentType(res.payload)]);
  return { status: 200, headers: out, body: res.payload };
}
