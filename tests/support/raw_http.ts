// Raw HTTP/1.1 exchanges for tests: send exact bytes, read the answer whole (until the server
// closes), split into status, headers and body. Test-side only: the server uses node:http.

/** One HTTP answer as read off the wire. */
export interface RawAnswer {
  /** The status code, or 0 when the server closed without answering. */
  status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Map<string, string>;
  /** The body bytes (after the head, de-chunking not needed: servers send Content-Length). */
  body: Uint8Array;
  /** Everything received. */
  raw: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** `chunks` joined into one array. */
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return all;
}

/** Splits `raw` into the first answer's parts. */
export function parseAnswer(raw: Uint8Array): RawAnswer {
  let headEnd = -1;
  for (let i = 0; i + 3 < raw.length; i++) {
    if (raw[i] === 13 && raw[i + 1] === 10 && raw[i + 2] === 13 && raw[i + 3] === 10) {
      headEnd = i;
      break;
    }
  }
  if (headEnd < 0) return { status: 0, headers: new Map(), body: new Uint8Array(0), raw };
  const lines = dec.decode(raw.subarray(0, headEnd)).split("\r\n");
  const status = Number(lines[0].split(" ")[1]);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const c = line.indexOf(":");
    const k = line.slice(0, c).toLowerCase();
    const v = line.slice(c + 1).trim();
    headers.set(k, headers.has(k) ? `${headers.get(k)}, ${v}` : v);
  }
  let body = raw.subarray(headEnd + 4);
  const len = headers.get("content-length");
  if (len !== undefined) body = body.subarray(0, Number(len));
  return { status, headers, body, raw };
}

/**
 * Sends `request` (a string or bytes) on a new connection to `port` and reads until the server
 * closes it or `timeoutMs` passes; returns the first answer.
 */
export async function rawExchange(
  port: number,
  request: string | Uint8Array,
  timeoutMs = 3000,
): Promise<RawAnswer> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const chunks: Uint8Array[] = [];
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // closed
    }
  }, timeoutMs);
  try {
    const bytes = typeof request === "string" ? enc.encode(request) : request;
    let off = 0; // a large request may take several writes
    while (off < bytes.byteLength) off += await conn.write(bytes.subarray(off));
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } catch {
    // reset or closed by the timer
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed
    }
  }
  return parseAnswer(concatBytes(chunks));
}

/** An HTTP/1.1 request with `Connection: close`, a Host and a Content-Length for `body`. */
export function httpRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body = "",
): string {
  const bytes = enc.encode(body);
  let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (body !== "" || method === "POST" || method === "PUT") {
    head += `Content-Length: ${bytes.length}\r\n`;
  }
  return head + "\r\n" + body;
}
