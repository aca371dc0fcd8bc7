/**
 * JSON-RPC 2.0 batches (a JSON array of requests), bounded as go-ethereum bounds them: members
 * counted first, run in order a window at a time, the event loop given turns, answers gathered
 * into chunks up to a byte bound.
 *
 * @module
 */
import { delay } from "../_internal/async.ts";
import {
  goJsonArrayElements,
  GoJsonSyntaxError,
  type RawMember,
  scanGoJson,
} from "../_internal/go/json.ts";
import type { HttpAnswer } from "./_answer.ts";
import { JsonRpcErrorCode } from "./jsonrpc.ts";
import {
  decodeCall,
  DecodeError,
  emptyAnswer,
  errorJson,
  jsonAnswer,
  jsonBytesAnswer,
} from "./_jsonrpc_text.ts";

/** go-ethereum's code for a batch whose answers outgrow their bound (`errcodeResponseTooLarge`). */
const RESPONSE_TOO_LARGE = -32003;

/** Members of one batch that run at a time; their answers are kept in order. */
const BATCH_WINDOW = 64;
/** Longest stretch of a batch's synchronous work, in ms, before the event loop gets a turn. */
const SLICE_MS = 10;
/** Bytes of answer text gathered before they are encoded into a chunk of the body. */
const ANSWER_CHUNK = 64 * 1024;

const encoder = new TextEncoder();

/** Gives the event loop a turn once a stretch of {@linkcode SLICE_MS} of work has gone by. */
class Slicer {
  #since = performance.now();

  /** Whether the current stretch is over. */
  due(): boolean {
    return performance.now() - this.#since >= SLICE_MS;
  }

  /** Lets timers and I/O (other callers) run, then starts a new stretch. */
  async pause(): Promise<void> {
    await delay(0);
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
export interface BatchBounds {
  /** Most members (0: no bound). */
  maxBatchSize: number;
  /** Most bytes of answers (0: no bound). */
  maxBatchResponseSize: number;
}

/**
 * A batch (`runMember` runs one member, already checked): its syntax checked and its members counted first (a parse error, or more than
 * `maxBatchSize` members, and none runs), then its members run in order, at most
 * {@linkcode BATCH_WINDOW} at a time, the event loop getting a turn every {@linkcode SLICE_MS}.
 * What it holds besides the body: two numbers per member and the answer's bytes, which stop
 * growing past `maxBatchResponseSize` (go-ethereum's handling of BatchResponseMaxSize).
 */
export async function handleBatch(
  body: Uint8Array,
  { maxBatchSize, maxBatchResponseSize }: BatchBounds,
  runMember: (part: Uint8Array) => Promise<string | undefined>,
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
        settled: runMember(member(k)).then(
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
