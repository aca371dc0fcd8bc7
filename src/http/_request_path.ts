/**
 * The path HTTP invoke routes on, as Go's `http.Request.URL.Path` holds it.
 *
 * @module
 */
import { pathUnescape, UrlEscapeError } from "../_internal/go/url.ts";

/**
 * The unescaped path of a request target (Go's `url.PathUnescape`, after the query and any
 * `scheme://host` are dropped); undefined when an escape is bad (Go's server answers 400).
 */
export function requestPath(target: string): string | undefined {
  let path = target;
  const q = path.indexOf("?");
  if (q >= 0) path = path.slice(0, q);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    const slash = path.indexOf("/", path.indexOf("//") + 2);
    path = slash < 0 ? "" : path.slice(slash);
  }
  try {
    return pathUnescape(path);
  } catch (e) {
    if (e instanceof UrlEscapeError) return undefined;
    throw e;
  }
}
