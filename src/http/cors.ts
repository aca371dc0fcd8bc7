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

/** CORS answers for one server's options (rs/cors `Cors`). */
export class Cors {
  readonly #allOrigins: boolean;
  readonly #origins: string[] = [];
  readonly #wildcards: [string, string][] = [];
  readonly #allHeaders: boolean;
  readonly #headers: string[];
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
    this.#headers = headers.length === 0
      ? ["accept", "content-type", "x-requested-with"]
      : [...new Set(headers.map((h) => h.toLowerCase()))].sort();
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

  /** Whether a request is a preflight (OPTIONS with Access-Control-Request-Method). */
  static isPreflight(method: string, headers: Headers): boolean {
    return method === "OPTIONS" && !!headers.get("access-control-request-method");
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

  #headersAllowed(list: string): boolean {
    const names = list.split(",").map((s) => s.trim()).filter((s) => s !== "");
    let last = -1;
    for (const n of names) {
      const pos = this.#headers.indexOf(n);
      if (pos <= last) return false;
      last = pos;
    }
    return true;
  }

  /** Sets the headers of a preflight answer (rs/cors handlePreflight). */
  preflight(headers: Headers, set: SetHeader): void {
    set("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    const origin = headers.get("origin") ?? "";
    if (origin === "" || !this.#originAllowed(origin)) return;
    const method = headers.get("access-control-request-method") ?? "";
    if (!this.#methodAllowed(method)) return;
    const reqHeaders = headers.get("access-control-request-headers");
    if (reqHeaders !== null && !this.#allHeaders && !this.#headersAllowed(reqHeaders)) return;
    set("Access-Control-Allow-Origin", this.#allOrigins ? "*" : origin);
    set("Access-Control-Allow-Methods", method);
    if (reqHeaders) set("Access-Control-Allow-Headers", reqHeaders);
    if (this.#credentials) set("Access-Control-Allow-Credentials", "true");
    if (this.#maxAge !== undefined) set("Access-Control-Max-Age", this.#maxAge);
  }

  /** Sets the headers of an actual request's answer (rs/cors handleActualRequest). */
  actual(method: string, headers: Headers, set: SetHeader): void {
    set("Vary", "Origin", true);
    const origin = headers.get("origin") ?? "";
    if (origin === "" || !this.#originAllowed(origin) || !this.#methodAllowed(method)) return;
    set("Access-Control-Allow-Origin", this.#allOrigins ? "*" : origin);
    if (this.#exposed) set("Access-Control-Expose-Headers", this.#exposed);
    if (this.#credentials) set("Access-Control-Allow-Credentials", "true");
  }
}
