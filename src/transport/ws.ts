/**
 * The `ws` and `wss` networks: rpcx frames carried in WebSocket messages on `/_rpcx_`, as Go
 * rpcx serves and dials them (`golang.org/x/net/websocket`).
 *
 * The WebSocket framing (RFC 6455) is written here rather than taken from Deno's `WebSocket`:
 * Go's client sends rpcx's binary frames as WebSocket *text* messages (its default payload type),
 * which a conforming library must refuse as invalid UTF-8; we read every data message as bytes.
 *
 * @module
 */
import { ProtocolError } from "../protocol/errors.ts";
import { encodeBase64 } from "./_base64.ts";
import { DialError, PeerGoneError, UpgradeError } from "./errors.ts";
import {
  type Connection,
  DEFAULT_RPC_PATH,
  type DialOptions,
  type Listener,
  type ListenOptions,
  type Network,
} from "./network.ts";
import { dialTcp, listenStream } from "./tcp.ts";
import { upgradeListener } from "./http.ts";
import { deadline } from "../_internal/async.ts";
import { PrefixedConnection, readHeader, writeAll } from "./_stream.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const enc = new TextEncoder();

async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", enc.encode(key + GUID));
  return encodeBase64(new Uint8Array(digest));
}

const OP_CONTINUATION = 0;
const OP_TEXT = 1;
const OP_BINARY = 2;
const OP_CLOSE = 8;
const OP_PING = 9;
const OP_PONG = 10;

/** A byte stream over WebSocket messages: writes are binary messages, reads take any data message. */
export class WebSocketConnection implements Connection {
  readonly network: string;
  readonly #inner: Connection;
  readonly #client: boolean;
  #left = 0;
  #mask: Uint8Array | undefined;
  #maskAt = 0;
  #closed = false;
  #sentClose = false;
  #writing: Promise<unknown> = Promise.resolve();
  /** Bytes read from the socket and not yet parsed: `#rbuf[#start, #end)`. */
  #rbuf = new Uint8Array(0);
  #start = 0;
  #end = 0;

  /** Frames over `inner`; a client masks what it sends, as RFC 6455 requires. */
  constructor(inner: Connection, network: string, client: boolean) {
    this.#inner = inner;
    this.network = network;
    this.#client = client;
  }
  /** Our end. */
  get localAddress(): string {
    return this.#inner.localAddress;
  }
  /** The peer's end. */
  get remoteAddress(): string {
    return this.#inner.remoteAddress;
  }

  /** Refills the read buffer (keeping unread bytes); false at the end of the stream. */
  async #fill(): Promise<boolean> {
    if (this.#start > 0 && this.#start === this.#end) this.#start = this.#end = 0;
    if (this.#end === this.#rbuf.byteLength) {
      const live = this.#end - this.#start;
      const next = new Uint8Array(Math.max(this.#rbuf.byteLength, live * 2, 4096));
      next.set(this.#rbuf.subarray(this.#start, this.#end));
      this.#rbuf = next;
      this.#start = 0;
      this.#end = live;
    }
    const n = await this.#inner.read(this.#rbuf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  /** Makes `n` bytes available at `#start`; false at the end of the stream. */
  async #need(n: number): Promise<boolean> {
    while (this.#end - this.#start < n) {
      if (this.#rbuf.byteLength - this.#start < n && this.#start > 0) {
        this.#rbuf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      if (!await this.#fill()) return false;
    }
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#rbuf.subarray(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /** Reads payload bytes of data messages into `p`; null at the end of the stream. */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#left === 0) {
      if (this.#closed) return null;
      if (!await this.#need(2)) return null;
      const h = this.#take(2);
      const opcode = h[0] & 0x0f;
      const masked = (h[1] & 0x80) !== 0;
      let len = h[1] & 0x7f;
      if (len === 126) {
        if (!await this.#need(2)) return null;
        const e = this.#take(2);
        len = (e[0] << 8) | e[1];
      } else if (len === 127) {
        if (!await this.#need(8)) return null;
        const e = this.#take(8);
        const v = new DataView(e.buffer, e.byteOffset, 8);
        len = v.getUint32(0) * 2 ** 32 + v.getUint32(4);
      }
      let mask: Uint8Array | undefined;
      if (masked) {
        if (!await this.#need(4)) return null;
        mask = this.#take(4).slice();
      }
      if (opcode === OP_TEXT || opcode === OP_BINARY || opcode === OP_CONTINUATION) {
        this.#left = len;
        this.#mask = mask;
        this.#maskAt = 0;
        continue;
      }
      // Control frames carry at most 125 bytes.
      if (len > 125) throw new ProtocolError(`websocket: control frame of ${len} bytes`);
      if (!await this.#need(len)) return null;
      const body = this.#take(len).slice();
      if (mask) { for (let i = 0; i < len; i++) body[i] ^= mask[i & 3]; }
      // The pong is written before reading on (as Go's x/net/websocket does): a peer that
      // pings and never reads is held back by TCP instead of making us queue pongs without end.
      if (opcode === OP_PING) await this.#send(OP_PONG, body).catch(() => {});
      else if (opcode === OP_CLOSE) {
        if (!this.#sentClose) await this.#send(OP_CLOSE, body.subarray(0, 2)).catch(() => {});
        this.#closed = true;
        return null;
      } else if (opcode !== OP_PONG) {
        throw new ProtocolError(`websocket: unknown opcode ${opcode}`);
      }
    }
    let n: number;
    if (this.#end > this.#start) {
      // Payload bytes already buffered.
      n = Math.min(p.byteLength, this.#left, this.#end - this.#start);
      p.set(this.#take(n));
    } else {
      // Large payloads go straight into the caller's buffer.
      const r = await this.#inner.read(p.byteLength > this.#left ? p.subarray(0, this.#left) : p);
      if (r === null) return null;
      n = r;
    }
    const mask = this.#mask;
    if (mask) {
      let m = this.#maskAt;
      for (let i = 0; i < n; i++, m++) p[i] ^= mask[m & 3];
      this.#maskAt = m & 3;
    }
    this.#left -= n;
    return n;
  }

  #frame(opcode: number, payload: Uint8Array): Uint8Array {
    const len = payload.byteLength;
    const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
    const maskLen = this.#client ? 4 : 0;
    const out = new Uint8Array(2 + ext + maskLen + len);
    out[0] = 0x80 | opcode;
    out[1] = (this.#client ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
    if (ext === 2) {
      out[2] = len >>> 8;
      out[3] = len & 0xff;
    } else if (ext === 8) {
      const v = new DataView(out.buffer, 2, 8);
      v.setUint32(0, Math.floor(len / 2 ** 32));
      v.setUint32(4, len >>> 0);
    }
    const at = 2 + ext + maskLen;
    out.set(payload, at);
    if (this.#client) {
      const mask = crypto.getRandomValues(new Uint8Array(4));
      out.set(mask, 2 + ext);
      for (let i = 0; i < len; i++) out[at + i] ^= mask[i & 3];
    }
    return out;
  }

  /** Sends one frame; frames never interleave. */
  #send(opcode: number, payload: Uint8Array): Promise<void> {
    if (opcode === OP_CLOSE) this.#sentClose = true;
    const bytes = this.#frame(opcode, payload);
    const next = this.#writing.then(() => writeAll(this.#inner, bytes));
    this.#writing = next.catch(() => {});
    return next;
  }

  /** Writes `p` as one binary message. */
  async write(p: Uint8Array): Promise<number> {
    if (this.#closed) {
      throw new PeerGoneError({
        op: "write",
        network: this.network,
        localAddress: this.localAddress,
        remoteAddress: this.remoteAddress,
      }, "broken-pipe");
    }
    await this.#send(OP_BINARY, p);
    return p.byteLength;
  }

  /** Sends a close frame (best effort) and closes the socket. */
  close(): void {
    if (!this.#closed && !this.#sentClose) {
      this.#closed = true;
      const bytes = this.#frame(OP_CLOSE, new Uint8Array([0x03, 0xe8]));
      this.#sentClose = true;
      // Not awaited: the socket closes right after whatever was written.
      void this.#inner.write(bytes).catch(() => {}).finally(() => this.#inner.close());
      return;
    }
    this.#closed = true;
    this.#inner.close();
  }
}

function header(lines: string[], name: string): string | undefined {
  const prefix = name.toLowerCase() + ":";
  const line = lines.find((l) => l.toLowerCase().startsWith(prefix));
  return line?.slice(prefix.length).trim();
}

async function acceptUpgrade(
  c: Connection,
  path: string,
  network: string,
): Promise<Connection | undefined> {
  const { lines, rest } = await readHeader(c);
  const [method, target] = lines[0].split(" ");
  const key = header(lines, "Sec-WebSocket-Key");
  if (method !== "GET" || target !== path || !key) {
    await writeAll(c, enc.encode("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
    return undefined;
  }
  await writeAll(
    c,
    enc.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${await acceptKey(key)}\r\n\r\n`,
    ),
  );
  return new WebSocketConnection(new PrefixedConnection(c, rest, network), network, false);
}

function wsNamed(name: "ws" | "wss"): Network {
  return {
    name,
    async dial(address: string, options: DialOptions = {}): Promise<Connection> {
      const label = `${name}@${address}`;
      if (name === "wss" && !options.tls) options = { ...options, tls: {} };
      const timeout = options.timeout ?? 1000;
      const started = Date.now();
      const c = await dialTcp(name, address, timeout, options.tls);
      try {
        const key = encodeBase64(crypto.getRandomValues(new Uint8Array(16)));
        const scheme = name === "wss" ? "https" : "http";
        await writeAll(
          c,
          enc.encode(
            `GET ${options.path ?? DEFAULT_RPC_PATH} HTTP/1.1\r\nHost: ${address}\r\n` +
              "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
              `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
              `Origin: ${scheme}://${address}\r\n\r\n`,
          ),
        );
        const left = Math.max(timeout - (Date.now() - started), 1);
        const { lines, rest } = await deadline(readHeader(c), left, {
          onTimeout: () => new DialError(label, `no WebSocket upgrade within ${timeout} ms`),
        });
        if (!/^HTTP\/1\.1 101/.test(lines[0])) throw new UpgradeError(label, lines[0]);
        if (header(lines, "Sec-WebSocket-Accept") !== await acceptKey(key)) {
          throw new UpgradeError(label, "wrong Sec-WebSocket-Accept");
        }
        return new WebSocketConnection(new PrefixedConnection(c, rest, name), name, true);
      } catch (e) {
        c.close();
        throw e instanceof DialError ? e : new DialError(label, (e as Error).message, { cause: e });
      }
    },
    async listen(address: string, options: ListenOptions = {}): Promise<Listener> {
      if (name === "wss" && !options.tls) {
        throw new TypeError("listen wss: TLS options are required (as Go: must set tlsconfig)");
      }
      const inner = await listenStream("tcp", address, options);
      const path = options.path ?? DEFAULT_RPC_PATH;
      return upgradeListener(
        inner,
        name,
        (c) => acceptUpgrade(c, path, name),
        options.handshakeTimeout,
      );
    },
  };
}

/**
 * The `ws` network: rpcx over WebSocket on `/_rpcx_` (Go rpcx's `ws`).
 *
 * @example
 * ```ts
 * import { wsNetwork } from "@rpcx/core/extend";
 * const listener = await wsNetwork.listen("127.0.0.1:0");
 * const conn = await wsNetwork.dial(listener.address);
 * conn.close();
 * listener.close();
 * ```
 */
export const wsNetwork: Network = wsNamed("ws");

/**
 * The `wss` network: `ws` over TLS (listen needs `tls`; dial uses the system roots unless
 * `tls.caCerts` is given).
 *
 * @example
 * ```ts
 * import { wssNetwork } from "@rpcx/core/extend";
 * console.log(wssNetwork.name); // "wss"
 * ```
 */
export const wssNetwork: Network = wsNamed("wss");
