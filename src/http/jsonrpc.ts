/**
 * JSON-RPC 2.0 over HTTP on the rpcx port (requests with `X-JSONRPC-2.0: true`), answered as Go
 * rpcx's `server/jsonrpc2.go` answers: `method` is `Service.Method`, `params` the JSON payload,
 * `result` the JSON reply; Go's error codes and texts. Batches (a JSON array) are answered too;
 * Go rpcx answers them with a parse error.
 *
 * @module
 */
import {
  MessageStatusType,
  MessageType,
  MetadataKeys,
  SerializeType,
} from "../protocol/constants.ts";
import { createMessage } from "../protocol/message.ts";
import type { ConnInfo } from "../server/plugin.ts";
import { detectContentType } from "./_content_type.ts";
import {
  goCompact,
  goJsonString,
  GoJsonSyntaxError,
  type RawMember,
  scanGoJson,
  unescapeGoString,
} from "../codec/_go_json.ts";
import { errorMessage, type HttpAnswer, httpError, type HttpHost } from "./_host.ts";
import { goParseQueryLenient } from "./_query.ts";
import type { FirstHeaders } from "./gateway.ts";

/**
 * JSON-RPC 2.0 error codes, as Go rpcx defines them (`server.CodeParseJSONRPCError` …).
 *
 * @example
 * ```ts
 * import { JsonRpcErrorCode } from "@rpcx/core";
 * console.log(JsonRpcErrorCode.MethodNotFound); // -32601
 * ```
 */
export const JsonRpcErrorCode = {
  /** Errors without a code of their own. */
  Unknown: -32001,
  /** The body is not valid JSON, or not a request object. */
  Parse: -32700,
  /** Not a valid request object. */
  InvalidRequest: -32600,
  /** `method` is not `Service.Method`. */
  MethodNotFound: -32601,
  /** Invalid method parameters. */
  InvalidParams: -32602,
  /** The call failed (Go uses this for every service, plugin and auth error). */
  Internal: -32603,
} as const;

/** The header that marks a JSON-RPC 2.0 request on the rpcx port. */
export const JSONRPC_HEADER = "X-JSONRPC-2.0";

const encoder = new TextEncoder();
const NULL_PARAMS = encoder.encode("null");

interface ParsedCall {
  method: string;
  params: Uint8Array | undefined;
  /** The id as Go writes it back; undefined for a notification. */
  id: string | undefined;
}

class DecodeError extends Error {}

function typeError(kind: string, field: string): DecodeError {
  return new DecodeError(
    `json: cannot unmarshal ${kind} into Go struct field jsonrpcRequest.${field} of type string`,
  );
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Decodes one request object as Go's json.Unmarshal into rpcx's jsonrpcRequest. */
function decodeCall(data: Uint8Array, kind: RawMember["kind"], members: RawMember[]): ParsedCall {
  if (kind === "null") return { method: "", params: undefined, id: undefined };
  if (kind !== "object") {
    throw new DecodeError(
      `json: cannot unmarshal ${kind} into Go value of type server.jsonrpcRequest`,
    );
  }
  const call: ParsedCall = { method: "", params: undefined, id: undefined };
  let saved: DecodeError | undefined;
  for (const m of members) {
    const raw = data.subarray(m.start, m.end);
    switch (m.key.toLowerCase()) {
      case "jsonrpc": {
        if (m.kind === "null") throw new DecodeError("invalid RPC version ");
        if (m.kind !== "string") throw typeError(m.kind, "jsonrpc");
        const v = unescapeGoString(raw);
        if (v !== "2.0") throw new DecodeError(`invalid RPC version ${v}`);
        break;
      }
      case "method":
        if (m.kind === "string") call.method = unescapeGoString(raw);
        else if (m.kind !== "null") saved ??= typeError(m.kind, "method");
        break;
      case "params":
        call.params = m.kind === "null" ? undefined : raw;
        break;
      case "id":
        if (m.kind === "null") {
          call.id = undefined;
        } else if (m.kind === "number") {
          const text = new TextDecoder().decode(raw);
          const n = /^-?[0-9]+$/.test(text) ? BigInt(text) : undefined;
          if (n === undefined || n < INT64_MIN || n > INT64_MAX) throw typeError("number", "id");
          call.id = n.toString();
        } else if (m.kind === "string") {
          const name = unescapeGoString(raw);
          call.id = name === "" ? "0" : goJsonString(name);
        } else {
          throw typeError(m.kind, "id");
        }
        break;
    }
  }
  if (saved) throw saved;
  return call;
}

function answerJson(id: string | undefined, field: string): string {
  return `{"jsonrpc":"2.0",${field}${id === undefined ? "" : `,"id":${id}`}}`;
}

function errorJson(id: string | undefined, code: number, message: string): string {
  return answerJson(
    id,
    `"error":{"code":${code},"message":${goJsonString(message)},"data":null}`,
  );
}

/** A reply's JSON body could not be written (Go: json.Marshal failed on the raw result). */
class ResultError extends Error {}

/** Runs one decoded call; resolves with its answer (undefined for a notification). */
async function runCall(
  host: HttpHost,
  conn: ConnInfo,
  headers: FirstHeaders,
  call: ParsedCall,
): Promise<string | undefined> {
  for (const p of host.plugins()) {
    try {
      p.preReadRequest?.(conn);
    } catch {
      // Go ignores preReadRequest errors on JSON-RPC
    }
  }
  const lastDot = call.method.lastIndexOf(".");
  if (lastDot <= 0) {
    return call.id === undefined ? undefined : errorJson(
      call.id,
      JsonRpcErrorCode.MethodNotFound,
      "must contains servicepath and method",
    );
  }
  const [metadata] = goParseQueryLenient(headers.get("x-rpcx-meta") ?? "");
  const auth = headers.get("authorization") ?? "";
  if (auth !== "") metadata[MetadataKeys.Auth] = auth;
  const req = createMessage({
    messageType: MessageType.Request,
    oneway: call.id === undefined,
    serializeType: SerializeType.JSON,
    servicePath: call.method.slice(0, lastDot),
    serviceMethod: call.method.slice(lastDot + 1),
    metadata,
    payload: call.params ?? NULL_PARAMS,
  });
  const outcome = await host.handle(req, conn);
  if (call.id === undefined) return undefined;
  if (outcome.kind !== "reply") {
    return errorJson(call.id, JsonRpcErrorCode.Internal, host.errorText(outcome.error));
  }
  const res = outcome.res!;
  if (res.status === MessageStatusType.Error) {
    return errorJson(
      call.id,
      JsonRpcErrorCode.Internal,
      res.metadata[MetadataKeys.ServiceError] ?? "",
    );
  }
  try {
    scanGoJson(res.payload);
  } catch (e) {
    throw new ResultError(
      `json: error calling MarshalJSON for type *json.RawMessage: ${errorMessage(e)}`,
    );
  }
  return answerJson(call.id, `"result":${goCompact(res.payload)}`);
}

/** Decodes and runs one element (a whole body, or one element of a batch). */
async function runOne(
  host: HttpHost,
  conn: ConnInfo,
  headers: FirstHeaders,
  data: Uint8Array,
  kind: RawMember["kind"],
  members: RawMember[],
): Promise<string | undefined> {
  let call: ParsedCall;
  try {
    call = decodeCall(data, kind, members);
  } catch (e) {
    if (e instanceof DecodeError) return errorJson(undefined, JsonRpcErrorCode.Parse, e.message);
    throw e;
  }
  if (call.id === undefined) {
    // A notification: answered at once, run in the background (as Go does).
    runCall(host, conn, headers, call).catch((e) => host.report("JSON-RPC notification", e));
    return undefined;
  }
  return await runCall(host, conn, headers, call);
}

function jsonAnswer(body: string | undefined): HttpAnswer {
  if (body === undefined) return { status: 200, headers: [], body: new Uint8Array(0) };
  const bytes = encoder.encode(body);
  // Go sets "Context-Type" (sic) and lets net/http sniff the Content-Type.
  return {
    status: 200,
    headers: [["Context-Type", "application/json"], ["Content-Type", detectContentType(bytes)]],
    body: bytes,
  };
}

/** Answers one JSON-RPC 2.0 HTTP request (a single call, a notification or a batch). */
export async function handleJsonRpc(
  host: HttpHost,
  conn: ConnInfo,
  headers: FirstHeaders,
  body: Uint8Array,
): Promise<HttpAnswer> {
  let scanned;
  try {
    scanned = scanGoJson(body);
  } catch (e) {
    if (!(e instanceof GoJsonSyntaxError)) throw e;
    return jsonAnswer(errorJson(undefined, JsonRpcErrorCode.Parse, e.message));
  }
  try {
    if (scanned.kind !== "array") {
      return jsonAnswer(await runOne(host, conn, headers, body, scanned.kind, scanned.members));
    }
    if (scanned.members.length === 0) {
      return jsonAnswer(errorJson(undefined, JsonRpcErrorCode.InvalidRequest, "empty batch"));
    }
    const answers = await Promise.all(scanned.members.map((el) => {
      const part = body.subarray(el.start, el.end);
      const inner = el.kind === "object" ? scanGoJson(part).members : [];
      return runOne(host, conn, headers, part, el.kind, inner);
    }));
    const given = answers.filter((a): a is string => a !== undefined);
    return jsonAnswer(given.length === 0 ? undefined : `[${given.join(",")}]`);
  } catch (e) {
    if (e instanceof ResultError) return httpError(500, e.message);
    throw e;
  }
}

/** Whether an HTTP request is JSON-RPC 2.0 (Go matches the header value exactly). */
export function isJsonRpc(headers: FirstHeaders): boolean {
  return headers.get(JSONRPC_HEADER.toLowerCase()) === "true";
}
