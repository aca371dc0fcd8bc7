/**
 * Write buffers shared by every connection of the process: a batch of frames is encoded into
 * one taken from here and given back once the socket has taken its bytes, so a call costs no
 * buffer of its own for its frame (at 16 KiB a call, allocating one per write kept V8's
 * collector busy). Nothing is held per connection: an idle one holds no write buffer.
 *
 * @module
 */

/** Buffers up to this size are pooled; a larger batch gets a buffer of its own. */
const MAX_POOLED = 1024 * 1024;
/** The smallest buffer made (small batches share the same few). */
const MIN_SIZE = 16 * 1024;
/** Bytes of free buffers kept at most. */
const MAX_FREE_BYTES = 4 * 1024 * 1024;

/** A pool of write buffers (one per process: {@linkcode writeBuffers}). */
export class WriteBuffers {
  readonly #free: Uint8Array<ArrayBuffer>[] = [];
  #freeBytes = 0;
  /** The buffers this pool made, so that `give` takes back only its own. */
  readonly #own = new WeakSet<ArrayBuffer>();

  /** A buffer of exactly `length` bytes (a view of a pooled buffer when it fits one). */
  take(length: number): Uint8Array<ArrayBuffer> {
    const free = this.#free;
    for (let i = free.length - 1; i >= 0; i--) {
      const b = free[i];
      if (b.byteLength < length) continue;
      free[i] = free[free.length - 1];
      free.pop();
      this.#freeBytes -= b.byteLength;
      return b.subarray(0, length);
    }
    if (length > MAX_POOLED) return new Uint8Array(length);
    let size = MIN_SIZE;
    while (size < length) size *= 2;
    const b = new Uint8Array(size);
    this.#own.add(b.buffer);
    return b.subarray(0, length);
  }

  /**
   * Gives back a buffer `take` returned (or a view of it), once nothing reads it any more; any
   * other buffer is ignored.
   */
  give(view: Uint8Array): void {
    const buffer = view.buffer as ArrayBuffer;
    if (!this.#own.has(buffer) || this.#freeBytes + buffer.byteLength > MAX_FREE_BYTES) return;
    this.#free.push(new Uint8Array(buffer));
    this.#freeBytes += buffer.byteLength;
  }
}

/** The process's write buffers. */
export const writeBuffers: WriteBuffers = new WriteBuffers();
