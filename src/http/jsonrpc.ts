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
  goJsonArrayElements,
  goJsonString,
  GoJsonSyntaxError,
  isGoJsonArray,
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

/**
 * Most members a JSON-RPC batch may have (`maxBatchSize` default): go-ethereum's
 * `BatchRequestLimit`. A larger batch is answered with one -32600 "batch too large" error.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_BATCH_SIZE, Server } from "@rpcx/core";
 * new Server({ maxBatchSize: 4 * DEFAULT_MAX_BATCH_SIZE });
 * ```
 */
export const DEFAULT_MAX_BATCH_SIZE = 1000;

/**
 * Most bytes of answers one JSON-RPC batch may gather (`maxBatchResponseSize` default):
 * go-ethereum's `BatchResponseMaxSize`, 25 MB. Once past it, the members not yet answered get a
 * -32003 "response too large" error each and those not yet started do not run.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_BATCH_RESPONSE_SIZE, Server } from "@rpcx/core";
 * new Server({ maxBatchResponseSize: DEFAULT_MAX_BATCH_RESPONSE_SIZE / 5 });
 * ```
 */
export const DEFAULT_MAX_BATCH_RESPONSE_SIZE = 25_000_000;

/** go-ethereum's code for a batch whose answers outgrow their bound (`errcodeResponseTooLarge`). */
const RESPONSE_TOO_LARGE = -32003;

/** Members of one batch that run at a time; their answers are kept in order. */
const BATCH_WINDOW = 64;
/** Longest stretch of a batch's synchronous work, in ms, before the event loop gets a turn. */
const SLICE_MS = 10;
/** Bytes of answer text gathered before they are encoded into a chunk of the body. */
const ANSWER_CHUNK = 64 * 1024;

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

function jsonAnswer(body: string | undefined): HttpAnswer {
  return body === undefined ? emptyAnswer() : jsonBytesAnswer(encoder.encode(body));
}

function emptyAnswer(): HttpAnswer {
  return { status: 200, headers: [], body: new Uint8Array(0) };
}

/** A JSON answer whose body is `body` (the first chunk shows its start). */
function jsonBytesAnswer(body: Uint8Array | Uint8Array[]): HttpAnswer {
  const first = Array.isArray(body) ? body[0] : body;
  // Go sets "Context-Type" (sic) and lets net/http sniff the Content-Type.
  return {
    status: 200,
    headers: [["Context-Type", "application/json"], ["Content-Type", detectContentType(first)]],
    body,
  };
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
    if (isGoJsonArray(body)) return await handleBatch(host, conn, headers, body, bounds);
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

/** Gives the event loop a turn once a stretch of {@linkcode SLICE_MS} of work has gone by. */
class Slicer {
  #since = performance.now();

  /** Whether the current stretch is over. */
  due(): boolean {
    return performance.now() - this.#since >= SLICE_MS;
  }

  /** Lets timers and I/O (other callers) run, then starts a new stretch. */
  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    this.#since = performance.now();
  }
}

/** A batch's answer array, encoded into chunks as it grows (no copy of the whole as text). */
class BatchAnswer {
  #parts: string[] = [];
  #size = 0;
  #count = 0;
  #encoded = 0;
  readonly #chunks: Uint8Array[] = [];

  /** Bytes so far (those not yet encoded counted as one per character). */
  get bytes(): number {
    return this.#encoded + this.#size;
  }

  add(answer: string): void {
    this.#parts.push(this.#count++ === 0 ? "[" : ",", answer);
    this.#size += answer.length + 1;
    if (this.#size >= ANSWER_CHUNK) this.#flush();
  }

  #flush(): void {
    const chunk = encoder.encode(this.#parts.join(""));
    this.#chunks.push(chunk);
    this.#encoded += chunk.byteLength;
    this.#parts = [];
    this.#size = 0;
  }

  /** The body's chunks; undefined when no member had an answer (only notifications). */
  finish(): Uint8Array[] | undefined {
    if (this.#count === 0) return undefined;
    this.#parts.push("]");
    this.#flush();
    return this.#chunks;
  }
}

type Settled = { ok: true; answer: string | undefined } | { ok: false; error: unknown };

/** Options of a batch. */
interface BatchBounds {
  /** Most members (0: no bound). */
  maxBatchSize: number;
  /** Most bytes of answers (0: no bound). */
  maxBatchResponseSize: number;
}

/**
 * A batch: its syntax checked and its members counted first (a parse error, or more than
 * `maxBatchSize` members, and none runs), then its members run in order, at most
 * {@linkcode BATCH_WINDOW} at a time, the event loop getting a turn every {@linkcode SLICE_MS}.
 * What it holds besides the body: two numbers per member and the answer's bytes, which stop
 * growing past `maxBatchResponseSize` (go-ethereum's handling of BatchResponseMaxSize).
 */
async function handleBatch(
  host: HttpHost,
  conn: ConnInfo,
  headers: FirstHeaders,
  body: Uint8Array,
  { maxBatchSize, maxBatchResponseSize }: BatchBounds,
): Promise<HttpAnswer> {
  const slicer = new Slicer();
  let spans = new Uint32Array(64);
  let count = 0;
  try {
    for (const el of goJsonArrayElements(body)) {
      if (maxBatchSize > 0 && count === maxBatchSize) {
        return await batchTooLarge(body, spans, count, el, slicer);
      }
      if (2 * count + 2 > spans.length) {
        const grown = new Uint32Array(spans.length * 2);
        grown.set(spans);
        spans = grown;
      }
      spans[2 * count] = el.start;
      spans[2 * count + 1] = el.end;
      count++;
      if (slicer.due()) await slicer.pause();
    }
  } catch (e) {
    if (!(e instanceof GoJsonSyntaxError)) throw e;
    return jsonAnswer(errorJson(undefined, JsonRpcErrorCode.Parse, e.message));
  }
  if (count === 0) {
    return jsonAnswer(errorJson(undefined, JsonRpcErrorCode.InvalidRequest, "empty batch"));
  }
  const out = new BatchAnswer();
  const member = (k: number) => body.subarray(spans[2 * k], spans[2 * k + 1]);
  // Past the answers' bound: members still to answer get an error each, and none more runs.
  let full = false;
  const running: { k: number; settled: Promise<Settled> }[] = [];
  const take = async () => {
    const { k, settled } = running.shift()!;
    const s = await settled;
    if (!s.ok) throw s.error;
    if (s.answer === undefined) return;
    if (full) {
      out.add(tooLarge(member(k)));
      return;
    }
    out.add(s.answer);
    full = maxBatchResponseSize > 0 && out.bytes > maxBatchResponseSize;
  };
  for (let k = 0; k < count; k++) {
    if (running.length === BATCH_WINDOW) await take();
    if (full) {
      while (running.length > 0) await take(); // answers stay in member order
      if (answers(member(k))) out.add(tooLarge(member(k)));
    } else {
      running.push({
        k,
        settled: runMember(host, conn, headers, member(k)).then(
          (answer): Settled => ({ ok: true, answer }),
          (error): Settled => ({ ok: false, error }),
        ),
      });
    }
    if (slicer.due()) await slicer.pause();
  }
  while (running.length > 0) await take();
  const chunks = out.finish();
  return chunks === undefined ? emptyAnswer() : jsonBytesAnswer(chunks);
}

/** A member's id, and whether it gets an answer (it is no notification). */
function memberCall(part: Uint8Array): { id: string | undefined; answers: boolean } {
  const scanned = scanGoJson(part);
  try {
    const call = decodeCall(part, scanned.kind, scanned.members);
    return { id: call.id, answers: call.id !== undefined };
  } catch (e) {
    if (e instanceof DecodeError) return { id: undefined, answers: true };
    throw e;
  }
}

function answers(part: Uint8Array): boolean {
  return memberCall(part).answers;
}

/** go-ethereum's error for a member whose answer did not fit (`errMsgResponseTooLarge`). */
function tooLarge(part: Uint8Array): string {
  return errorJson(memberCall(part).id, RESPONSE_TOO_LARGE, "response too large");
}

/** Runs one member of a batch (`part`, already checked). */
function runMember(
  host: HttpHost,
  conn: ConnInfo,
  headers: FirstHeaders,
  part: Uint8Array,
): Promise<string | undefined> {
  const scanned = scanGoJson(part);
  return runOne(host, conn, headers, part, scanned.kind, scanned.members, true);
}

/**
 * go-ethereum's answer to a batch over its limit (`respondWithBatchTooLarge`): an array of one
 * -32600 "batch too large" error carrying the id of the first call among the members read (the
 * first `maxBatchSize` + 1); none of them runs.
 */
async function batchTooLarge(
  body: Uint8Array,
  spans: Uint32Array,
  count: number,
  next: RawMember,
  slicer: Slicer,
): Promise<HttpAnswer> {
  let id: string | undefined;
  for (let k = 0; k <= count && id === undefined; k++) {
    const part = k < count
      ? body.subarray(spans[2 * k], spans[2 * k + 1])
      : body.subarray(next.start, next.end);
    const scanned = scanGoJson(part);
    try {
      const call = decodeCall(part, scanned.kind, scanned.members);
      if (call.method !== "") id = call.id;
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    }
    if (slicer.due()) await slicer.pause();
  }
  return jsonAnswer(
    `[${errorJson(id, JsonRpcErrorCode.InvalidRequest, "batch too large")}]`,
  );
}

/** Whether an HTTP request is JSON-RPC 2.0 (Go matches the header value exactly). */
export function isJsonRpc(headers: FirstHeaders): boolean {
  return headers.get(JSONRPC_HEADER.toLowerCase()) === "true";
}
