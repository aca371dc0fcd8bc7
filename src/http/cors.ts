/**
 * CORS for the HTTP side of the rpcx port, with the options and answers of github.com/rs/cors
 * v1.11 that Go rpcx uses (`Server.SetCORS`, `AllowAllCORSOptions`).
 *
 * @module
 */

/**
 * CORS options, as Go rpcx's `CORSOptions` (rs/cors `Options`). Origins may hold one `*`
 * wildcard (`https://*.example.org`); `["*"]` allows every origin.
 *
 * @example
 * ```ts
 * import { type CorsOptions, Server } from "@rpcx/core";
 * const cors: CorsOptions = { allowedOrigins: ["https://app.example.org"], allowCredentials: true };
 * new Server({ cors });
 * ```
 */
export interface CorsOptions {
  /** Origins allowed (default: all). Matching ignores case. */
  allowedOrigins?: string[];
  /** Methods allowed (default: GET, POST, HEAD). */
  allowedMethods?: string[];
  /** Request headers allowed (default: Accept, Content-Type, X-Requested-With); `*` allows any. */
  allowedHeaders?: string[];
  /** Response headers the page may read (`Access-Control-Expose-Headers`). */
  exposedHeaders?: string[];
  /** Answer `Access-Control-Allow-Credentials: true`. */
  allowCredentials?: boolean;
  /** Seconds a preflight answer may be cached (`Access-Control-Max-Age`; negative sends 0). */
  maxAge?: number;
  /** Status of a preflight answer (default 204). */
  optionsSuccessStatus?: number;
}

/**
 * Options that allow every origin, the usual methods and any header, without credentials — Go
 * rpcx's `AllowAllCORSOptions()`.
 *
 * @example
 * ```ts
 * import { allowAllCorsOptions, Server } from "@rpcx/core";
 * const server = new Server({ cors: allowAllCorsOptions() });
 * console.log(allowAllCorsOptions().allowedOrigins); // ["*"]
 * ```
 */
export function allowAllCorsOptions(): CorsOptions {
  return {
    allowedOrigins: ["*"],
    allowedMethods: ["HEAD", "GET", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ["*"],
    allowCredentials: false,
  };
}

/** Sets a response header (appending when `append`). */
export type SetHeader = (name: string, value: string, append?: boolean) => void;

/** Go's http.CanonicalHeaderKey for ASCII names. */
export function canonicalHeaderKey(name: string): string {
  return name.toLowerCase().replace(
    /(^|-)([a-z])/g,
    (_m, d: string, c: string) => d + c.toUpperCase(),
  );
}

/** A request's header values by lower-case name, in the order they came (none: empty). */
export type HeaderValues = (name: string) => readonly string[];

/** RFC 9110 list rules as rs/cors applies them: OWS bytes tolerated around a name. */
const MAX_OWS = 1;
/** Empty elements tolerated in a list. */
const MAX_EMPTY = 16;

/** rs/cors's trimOWS: at most `n` spaces or tabs off each end, else undefined. */
function trimOws(s: string, n: number): string | undefined {
  if (s === "") return s;
  let end = s.length;
  for (let i = 0; end > 0; i++) {
    if (i > n) return undefined;
    const c = s[end - 1];
    if (c !== " " && c !== "\t") break;
    end--;
  }
  let start = 0;
  for (let i = 0; start < end; i++) {
    if (i > n) return undefined;
    const c = s[start];
    if (c !== " " && c !== "\t") break;
    start++;
  }
  return s.slice(start, end);
}

/** CORS answers for one server's options (rs/cors `Cors`). */
export class Cors {
  readonly #allOrigins: boolean;
  readonly #origins: string[] = [];
  readonly #wildcards: [string, string][] = [];
  readonly #allHeaders: boolean;
  /** Allowed request headers (lower case) and their place in sorted order. */
  readonly #headers: Map<string, number>;
  readonly #longestHeader: number;
  readonly #methods: string[];
  readonly #exposed: string | undefined;
  readonly #credentials: boolean;
  readonly #maxAge: string | undefined;
  /** Status of a preflight answer. */
  readonly optionsSuccessStatus: number;

  /** Compiles `options`. */
  constructor(options: CorsOptions) {
    const origins = options.allowedOrigins ?? [];
    let all = origins.length === 0;
    for (const raw of origins) {
      const o = raw.toLowerCase();
      if (o === "*") {
        all = true;
        break;
      }
      const star = o.indexOf("*");
      if (star >= 0) this.#wildcards.push([o.slice(0, star), o.slice(star + 1)]);
      else this.#origins.push(o);
    }
    this.#allOrigins = all;
    const headers = options.allowedHeaders ?? [];
    this.#allHeaders = headers.includes("*");
    const names = headers.length === 0
      ? ["accept", "content-type", "x-requested-with"]
      : [...new Set(headers.map((h) => h.toLowerCase()))].sort();
    this.#headers = new Map(names.map((n, i) => [n, i]));
    this.#longestHeader = Math.max(0, ...names.map((n) => n.length));
    this.#methods = options.allowedMethods?.length
      ? options.allowedMethods
      : ["GET", "POST", "HEAD"];
    this.#exposed = options.exposedHeaders?.length
      ? options.exposedHeaders.map(canonicalHeaderKey).join(", ")
      : undefined;
    this.#credentials = options.allowCredentials ?? false;
    const maxAge = options.maxAge ?? 0;
    this.#maxAge = maxAge > 0 ? String(Math.floor(maxAge)) : maxAge < 0 ? "0" : undefined;
    this.optionsSuccessStatus = options.optionsSuccessStatus || 204;
  }

  /** Whether a request is a preflight (OPTIONS with an Access-Control-Request-Method). */
  static isPreflight(method: string, values: HeaderValues): boolean {
    return method === "OPTIONS" && (values("access-control-request-method")[0] ?? "") !== "";
  }

  #originAllowed(origin: string): boolean {
    if (this.#allOrigins) return true;
    const o = origin.toLowerCase();
    if (this.#origins.includes(o)) return true;
    return this.#wildcards.some(([pre, suf]) =>
      o.length >= pre.length + suf.length && o.startsWith(pre) && o.endsWith(suf)
    );
  }

  #methodAllowed(method: string): boolean {
    return method === "OPTIONS" || this.#methods.includes(method);
  }

  /**
   * rs/cors's SortedSet.Accepts: every name in the lists is allowed, in sorted order, once; at
   * most one space or tab around each; a few empty elements tolerated.
   */
  #headersAllowed(values: readonly string[]): boolean {
    const maxLen = MAX_OWS + this.#longestHeader + MAX_OWS + 1;
    let last = -1;
    let empty = 0;
    for (let s of values) {
      for (;;) {
        const comma = s.slice(0, maxLen).indexOf(",");
        const name = trimOws(comma >= 0 ? s.slice(0, comma) : s, MAX_OWS);
        s = comma >= 0 ? s.slice(comma + 1) : "";
        if (name === undefined) return false;
        if (name === "") {
          if (++empty > MAX_EMPTY) return false;
          if (comma < 0) break;
          continue;
        }
        const pos = this.#headers.get(name);
        if (pos === undefined || pos <= last) return false;
        last = pos;
        if (comma < 0) break;
      }
    }
    return true;
  }

  /** Sets the headers of a preflight answer (rs/cors handlePreflight). */
  preflight(values: HeaderValues, set: SetHeader): void {
    set("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    const origins = values("origin");
    const origin = origins[0] ?? "";
    if (origin === "" || !this.#originAllowed(origin)) return;
    const methods = values("access-control-request-method");
    if (!this.#methodAllowed(methods[0] ?? "")) return;
    const reqHeaders = values("access-control-request-headers");
    const found = reqHeaders.length > 0;
    if (found && !this.#allHeaders && !this.#headersAllowed(reqHeaders)) return;
    this.#setAll("Access-Control-Allow-Origin", this.#allOrigins ? ["*"] : origins, set);
    this.#setAll("Access-Control-Allow-Methods", methods, set);
    if (found && reqHeaders[0].length > 0) {
      this.#setAll("Access-Control-Allow-Headers", reqHeaders, set);
    }
    if (this.#credentials) set("Access-Control-Allow-Credentials", "true");
    if (this.#maxAge !== undefined) set("Access-Control-Max-Age", this.#maxAge);
  }

  /** Sets the headers of an actual request's answer (rs/cors handleActualRequest). */
  actual(method: string, values: HeaderValues, set: SetHeader): void {
    set("Vary", "Origin", true);
    const origins = values("origin");
    const origin = origins[0] ?? "";
    if (origin === "" || !this.#originAllowed(origin) || !this.#methodAllowed(method)) return;
    this.#setAll("Access-Control-Allow-Origin", this.#allOrigins ? ["*"] : origins, set);
    if (this.#exposed) set("Access-Control-Expose-Headers", this.#exposed);
    if (this.#credentials) set("Access-Control-Allow-Credentials", "true");
  }

  /** A header with each of `values` (Go copies a request header's value list). */
  #setAll(name: string, values: readonly string[], set: SetHeader): void {
    values.forEach((v, i) => set(name, v, i > 0));
  }
}
