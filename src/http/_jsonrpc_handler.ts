/**
 * Answers one JSON-RPC 2.0 HTTP request: a single call, a notification or a batch, each call
 * handed to the server as an rpcx request (SerializeType JSON) through the HTTP side's host.
 *
 * @module
 */
import {
  MessageStatusType,
  MessageType,
  MetadataKeys,
  SerializeType,
} from "../protocol/constants.ts";
import { RpcxError } from "../protocol/errors.ts";
import { createMessage } from "../protocol/message.ts";
import type { ConnInfo } from "../transport/network.ts";
import {
  goCompact,
  GoJsonSyntaxError,
  isGoJsonArray,
  type RawMember,
  scanGoJson,
} from "../_internal/go/json.ts";
import { errorMessage, type HttpAnswer, httpError } from "./_answer.ts";
import type { HttpHost } from "./host.ts";
import { readMeta } from "./_meta.ts";
import type { FirstHeaders } from "./gateway.ts";
import {
  DEFAULT_MAX_BATCH_RESPONSE_SIZE,
  DEFAULT_MAX_BATCH_SIZE,
  JsonRpcErrorCode,
} from "./jsonrpc.ts";
import {
  answerJson,
  decodeCall,
  DecodeError,
  errorJson,
  jsonAnswer,
  type ParsedCall,
} from "./_jsonrpc_text.ts";
import { type BatchBounds, handleBatch } from "./_jsonrpc_batch.ts";

const NULL_PARAMS = new TextEncoder().encode("null");

/** A reply's JSON body could not be written (Go: json.Marshal failed on the raw result). */
class ResultError extends RpcxError {}

/** Runs one decoded call; resolves with its answer (undefined for a notification). */
async function runCall(
  host: HttpHost,
  conn: ConnInfo,
  headers: FirstHeaders,
  call: ParsedCall,
): Promise<string | undefined> {
  host.preReadJsonRpc(conn);
  const lastDot = call.method.lastIndexOf(".");
  if (lastDot <= 0) {
    return call.id === undefined ? undefined : errorJson(
      call.id,
      JsonRpcErrorCode.MethodNotFound,
      "must contains servicepath and method",
    );
  }
  // Go ignores the header's error and keeps what parsed.
  const [metadata] = readMeta(headers.get("x-rpcx-meta") ?? "");
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
  // The answer is made inside the server's pipeline, between preWriteResponse and
  // postWriteResponse (as Go makes it before its postWriteResponse).
  let answer: string | undefined;
  let bad: ResultError | undefined;
  const outcome = await host.handle(req, conn, (res) => {
    if (call.id === undefined) return;
    if (res.status === MessageStatusType.Error) {
      answer = errorJson(
        call.id,
        JsonRpcErrorCode.Internal,
        res.metadata[MetadataKeys.ServiceError] ?? "",
      );
      return;
    }
    try {
      scanGoJson(res.payload);
      answer = answerJson(call.id, `"result":${goCompact(res.payload)}`);
    } catch (e) {
      bad = new ResultError(
        `json: error calling MarshalJSON for type *json.RawMessage: ${errorMessage(e)}`,
      );
    }
  });
  if (call.id === undefined) return undefined;
  if (bad) throw bad;
  if (outcome.kind === "refused" || outcome.kind === "auth") {
    return errorJson(call.id, JsonRpcErrorCode.Internal, host.errorText(outcome.error));
  }
  return answer;
}

/**
 * Decodes and runs one element (a whole body, or one element of a batch). A notification alone
 * is answered at once and runs in the background (as Go does); in a batch (`inBatch`) it runs
 * in its turn like the calls, so a batch's work stays bounded.
 */
async function runOne(
  host: HttpHost,
  conn: ConnInfo,
  headers: FirstHeaders,
  data: Uint8Array,
  kind: RawMember["kind"],
  members: RawMember[],
  inBatch = false,
): Promise<string | undefined> {
  let call: ParsedCall;
  try {
    call = decodeCall(data, kind, members);
  } catch (e) {
    if (e instanceof DecodeError) return errorJson(undefined, JsonRpcErrorCode.Parse, e.message);
    throw e;
  }
  if (call.id === undefined) {
    const run = runCall(host, conn, headers, call).catch((e) =>
      host.report("JSON-RPC notification", e)
    );
    if (inBatch) await run;
    return undefined;
  }
  return await runCall(host, conn, headers, call);
}

/** Answers one JSON-RPC 2.0 HTTP request (a single call, a notification or a batch). */
export async function handleJsonRpc(
  host: HttpHost,
  conn: ConnInfo,
  headers: FirstHeaders,
  body: Uint8Array,
  bounds: BatchBounds = {
    maxBatchSize: DEFAULT_MAX_BATCH_SIZE,
    maxBatchResponseSize: DEFAULT_MAX_BATCH_RESPONSE_SIZE,
  },
): Promise<HttpAnswer> {
  try {
    if (isGoJsonArray(body)) {
      return await handleBatch(body, bounds, (part) => {
        const scanned = scanGoJson(part);
        return runOne(host, conn, headers, part, scanned.kind, scanned.members, true);
      });
    }
    let scanned;
    try {
      scanned = scanGoJson(body);
    } catch (e) {
      if (!(e instanceof GoJsonSyntaxError)) throw e;
      return jsonAnswer(errorJson(undefined, JsonRpcErrorCode.Parse, e.message));
    }
    return jsonAnswer(await runOne(host, conn, headers, body, scanned.kind, scanned.members));
  } catch (e) {
    if (e instanceof ResultError) return httpError(500, e.message);
    throw e;
  }
}
