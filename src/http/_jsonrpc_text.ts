/**
 * JSON-RPC 2.0 text both ways, as Go rpcx reads and writes it: a request object decoded as Go's
 * `json.Unmarshal` into rpcx's `jsonrpcRequest` (and its error texts), and the answer objects
 * and HTTP answers Go writes.
 *
 * @module
 */
import { goJsonString, type RawMember, unescapeGoString } from "../_internal/go/json.ts";
import { detectContentType } from "../_internal/go/content_type.ts";
import { RpcxError } from "../protocol/errors.ts";
import type { HttpAnswer } from "./_answer.ts";

const encoder = new TextEncoder();

export interface ParsedCall {
  method: string;
  params: Uint8Array | undefined;
  /** The id as Go writes it back; undefined for a notification. */
  id: string | undefined;
}

export class DecodeError extends RpcxError {}

function typeError(kind: string, field: string): DecodeError {
  return new DecodeError(
    `json: cannot unmarshal ${kind} into Go struct field jsonrpcRequest.${field} of type string`,
  );
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** Decodes one request object as Go's json.Unmarshal into rpcx's jsonrpcRequest. */
export function decodeCall(
  data: Uint8Array,
  kind: RawMember["kind"],
  members: RawMember[],
): ParsedCall {
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

export function answerJson(id: string | undefined, field: string): string {
  return `{"jsonrpc":"2.0",${field}${id === undefined ? "" : `,"id":${id}`}}`;
}

export function errorJson(id: string | undefined, code: number, message: string): string {
  return answerJson(
    id,
    `"error":{"code":${code},"message":${goJsonString(message)},"data":null}`,
  );
}

export function jsonAnswer(body: string | undefined): HttpAnswer {
  return body === undefined ? emptyAnswer() : jsonBytesAnswer(encoder.encode(body));
}

export function emptyAnswer(): HttpAnswer {
  return { status: 200, headers: [], body: new Uint8Array(0) };
}

/** A JSON answer whose body is `body` (the first chunk shows its start). */
export function jsonBytesAnswer(body: Uint8Array | Uint8Array[]): HttpAnswer {
  const first = Array.isArray(body) ? body[0] : body;
  // Go sets "Context-Type" (sic) and lets net/http sniff the Content-Type.
  return {
    status: 200,
    headers: [["Context-Type", "application/json"], ["Content-Type", detectContentType(first)]],
    body,
  };
}
