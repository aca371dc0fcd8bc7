/**
 * Go's lexical layer for `rpcx gen`'s Go parser: tokens (comments skipped; interpreted and raw
 * strings, runes, numbers, operators) with Go's automatic semicolons, and string literal values.
 *
 * @module
 */
import { RpcxError } from "../../protocol/errors.ts";

/**
 * Go text that is not Go (in the subset read here): `line` is 1-based in the text given.
 *
 * @example
 * ```ts
 * import { GoSyntaxError, goToTypeScript } from "@rpcx/core/cli";
 * try {
 *   goToTypeScript("type A struct {");
 * } catch (e) {
 *   console.log(e instanceof GoSyntaxError, (e as GoSyntaxError).line); // true 1
 * }
 * ```
 */
export class GoSyntaxError extends RpcxError {
  /** The line of the offending token. */
  readonly line: number;
  /** Creates the error. */
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = "GoSyntaxError";
    this.line = line;
  }
}

/** A token's kind. */
export type TokKind = "ident" | "string" | "number" | "char" | "op" | ";" | "eof";
/** A token. */
export interface Tok {
  kind: TokKind;
  text: string;
  line: number;
}

/** Go's tokens with its automatic semicolons (a newline after an operand or `)]}` ends a line). */
export function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  const endsStatement = () => {
    const t = toks.at(-1);
    if (!t) return false;
    if (t.kind === "ident") return true;
    if (t.kind === "string" || t.kind === "number" || t.kind === "char") return true;
    if (t.kind === "op") return [")", "]", "}", "++", "--"].includes(t.text);
    return false;
  };
  const newline = () => {
    if (endsStatement()) toks.push({ kind: ";", text: "\n", line });
    line++;
  };
  while (i < src.length) {
    const c = src[i];
    if (c === "\n") {
      newline();
      i++;
    } else if (c === " " || c === "\t" || c === "\r") i++;
    else if (src.startsWith("//", i)) {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (src.startsWith("/*", i)) {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) throw new GoSyntaxError("comment not terminated", line);
      const body = src.slice(i, end + 2);
      const nl = body.split("\n").length - 1;
      if (nl > 0) {
        newline();
        line += nl - 1;
      }
      i = end + 2;
    } else if (/[\p{L}_]/u.test(c)) {
      let j = i + 1;
      while (j < src.length && /[\p{L}\p{Nd}_]/u.test(src[j])) j++;
      const text = src.slice(i, j);
      toks.push({ kind: "ident", text, line });
      i = j;
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(src[i + 1] ?? ""))) {
      let j = i + 1;
      while (j < src.length && /[0-9a-zA-Z_.]/.test(src[j])) j++;
      toks.push({ kind: "number", text: src.slice(i, j), line });
      i = j;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) {
        if (src[j] === "\n") throw new GoSyntaxError("string not terminated", line);
        j += src[j] === "\\" ? 2 : 1;
      }
      if (j >= src.length) throw new GoSyntaxError("string not terminated", line);
      toks.push({ kind: c === '"' ? "string" : "char", text: src.slice(i, j + 1), line });
      i = j + 1;
    } else if (c === "`") {
      const end = src.indexOf("`", i + 1);
      if (end < 0) throw new GoSyntaxError("raw string not terminated", line);
      const text = src.slice(i, end + 1);
      toks.push({ kind: "string", text, line });
      line += text.split("\n").length - 1;
      i = end + 1;
    } else {
      const three = src.slice(i, i + 3);
      const two = src.slice(i, i + 2);
      const op = ["...", "<<=", ">>=", "&^="].includes(three) ? three : [
          "<-",
          "++",
          "--",
          "==",
          "!=",
          "<=",
          ">=",
          "&&",
          "||",
          ":=",
          "<<",
          ">>",
          "&^",
          "+=",
          "-=",
          "*=",
          "/=",
          "%=",
          "&=",
          "|=",
          "^=",
        ]
          .includes(two)
        ? two
        : c;
      toks.push({ kind: op === ";" ? ";" : "op", text: op, line });
      i += op.length;
    }
  }
  if (endsStatement()) toks.push({ kind: ";", text: "\n", line });
  toks.push({ kind: "eof", text: "", line });
  return toks;
}

/** The value of a Go string literal (interpreted or raw). */
export function unquote(lit: string): string {
  if (lit.startsWith("`")) return lit.slice(1, -1).replaceAll("\r", "");
  try {
    return JSON.parse(lit.replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1").replace(/\\'/g, "'"));
  } catch {
    return lit.slice(1, -1);
  }
}
