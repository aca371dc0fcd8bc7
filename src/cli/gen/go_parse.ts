/**
 * A parser of the Go declarations `rpcx gen` reads: Go rpcx's reflection answers (package
 * clauses, import blocks, struct and other type definitions, and method stubs, which Go writes
 * `type (s *Arith) Mul(…) error {…}`) and Go source files (the same plus `func` declarations with
 * bodies, `const` and `var`, which are skipped). It tokenizes as Go does (comments, interpreted
 * and raw strings, runes, automatic semicolons) and parses the type syntax: named and qualified
 * types with type arguments, pointers, slices, arrays, maps, structs (embedded fields, tags),
 * interfaces, funcs and channels. A syntax error is a {@linkcode GoSyntaxError} naming the line.
 *
 * @module
 */
import type { GoDecls, GoMethodDecl, GoStructField, GoTypeExpr } from "./_go_ast.ts";
import { GoSyntaxError, type Tok, tokenize, unquote } from "./_go_tokens.ts";

/** Go keywords that begin a type literal, so never a parameter name. */
const TYPE_KEYWORDS = new Set(["func", "map", "chan", "struct", "interface"]);

export { GoSyntaxError } from "./_go_tokens.ts";
export type { GoDecls, GoMethodDecl, GoStructField, GoTypeDecl, GoTypeExpr } from "./_go_ast.ts";

/** How deep types may nest (`[][]*map[K]struct{…}`…). */
const MAX_DEPTH = 200;

class Parser {
  readonly #t: Tok[];
  #i = 0;
  #pkg = "main";
  readonly out: GoDecls = { types: [], methods: [] };

  constructor(toks: Tok[]) {
    this.#t = toks;
  }

  get #tok(): Tok {
    return this.#t[this.#i];
  }
  #peek(n = 1): Tok {
    return this.#t[Math.min(this.#i + n, this.#t.length - 1)];
  }
  #is(text: string, n = 0): boolean {
    const t = this.#peek(n);
    return (t.kind === "op" || t.kind === "ident" || t.kind === ";") && t.text === text;
  }
  #fail(what: string): never {
    const t = this.#tok;
    const found = t.kind === "eof"
      ? "end of text"
      : t.kind === ";"
      ? "newline or ;"
      : `"${t.text}"`;
    throw new GoSyntaxError(`expected ${what}, found ${found}`, t.line);
  }
  #expect(text: string): Tok {
    if (!this.#is(text)) this.#fail(`"${text}"`);
    return this.#t[this.#i++];
  }
  #ident(): string {
    if (this.#tok.kind !== "ident") this.#fail("a name");
    return this.#t[this.#i++].text;
  }
  #semis(): void {
    while (this.#tok.kind === ";") this.#i++;
  }

  file(): GoDecls {
    for (;;) {
      this.#semis();
      const t = this.#tok;
      if (t.kind === "eof") return this.out;
      if (t.kind !== "ident") this.#fail("a declaration");
      // (a regex, not `case` labels: tools/_npm.ts reads a quoted import keyword as an import)
      if (/^(import|const|var)$/.test(t.text)) {
        this.#i++;
        this.#skipDecl();
        continue;
      }
      switch (t.text) {
        case "package":
          this.#i++;
          this.#pkg = this.#ident();
          break;
        case "type":
          this.#i++;
          if (this.#is("(") && this.#stubAhead()) this.#method(t.line);
          else if (this.#is("(")) {
            this.#i++;
            for (this.#semis(); !this.#is(")"); this.#semis()) this.#typeSpec();
            this.#i++;
          } else this.#typeSpec();
          break;
        case "func":
          this.#i++;
          if (this.#is("(")) this.#method(t.line);
          else this.#skipFunc();
          break;
        default:
          this.#fail("a declaration");
      }
      if (this.#tok.kind !== ";" && this.#tok.kind !== "eof") this.#fail("a newline");
    }
  }

  /** Whether `(` starts a receiver followed by a method name and `(` (Go reflection's stub). */
  #stubAhead(): boolean {
    let n = 1;
    if (
      this.#peek(n).kind === "ident" && (this.#is("*", n + 1) || this.#peek(n + 1).kind === "ident")
    ) n++;
    if (this.#is("*", n)) n++;
    if (this.#peek(n).kind !== "ident") return false;
    return this.#is(")", n + 1) && this.#peek(n + 2).kind === "ident" && this.#is("(", n + 3);
  }

  /** Skips an import/const/var declaration: one line, or a parenthesized group. */
  #skipDecl(): void {
    let depth = 0;
    for (;;) {
      const t = this.#tok;
      if (t.kind === "eof") return;
      if (depth === 0 && t.kind === ";") return;
      if (t.kind === "op" && "([{".includes(t.text)) depth++;
      if (t.kind === "op" && ")]}".includes(t.text)) depth--;
      this.#i++;
    }
  }

  /** Skips balanced brackets from the current `open` token. */
  #skipBalanced(): void {
    let depth = 0;
    do {
      const t = this.#tok;
      if (t.kind === "eof") this.#fail("a closing bracket");
      if (t.kind === "op" && "([{".includes(t.text)) depth++;
      if (t.kind === "op" && ")]}".includes(t.text)) depth--;
      this.#i++;
    } while (depth > 0);
  }

  #skipFunc(): void {
    this.#ident();
    if (this.#is("[")) this.#skipBalanced();
    this.#signature();
    if (this.#is("{")) this.#skipBalanced();
  }

  #typeSpec(): void {
    const line = this.#tok.line;
    const name = this.#ident();
    const typeParams: string[] = [];
    // `type A[T any] …` (generic) versus `type A [4]int` (array): a name after `[` is a param.
    if (this.#is("[") && this.#peek().kind === "ident" && !this.#is("]", 2)) {
      this.#i++;
      while (!this.#is("]")) {
        typeParams.push(this.#ident());
        if (this.#is(",")) {
          this.#i++;
          continue;
        }
        this.#type(); // the constraint
        if (this.#is(",")) this.#i++;
      }
      this.#i++;
    }
    const alias = this.#is("=");
    if (alias) this.#i++;
    this.out.types.push({ pkg: this.#pkg, name, typeParams, alias, type: this.#type(), line });
  }

  #method(line: number): void {
    this.#expect("(");
    // (s *T), (s T), (*T), (T), (s *T[K]): the receiver's type is the last name.
    let receiver = "";
    while (!this.#is(")")) {
      const t = this.#tok;
      if (t.kind === "eof" || t.kind === ";") this.#fail('")"');
      if (this.#is("[")) this.#skipBalanced();
      else {
        if (t.kind === "ident") receiver = t.text;
        this.#i++;
      }
    }
    this.#expect(")");
    const name = this.#ident();
    const { params, results } = this.#signature();
    if (this.#is("{")) this.#skipBalanced();
    this.out.methods.push({ pkg: this.#pkg, receiver, name, params, results, line });
  }

  #signature(): { params: GoMethodDecl["params"]; results: GoTypeExpr[] } {
    const params = this.#params();
    let results: GoTypeExpr[] = [];
    if (this.#is("(")) results = this.#params().map((p) => p.type);
    else if (this.#startsType(0) && !this.#is("...")) results = [this.#type()];
    return { params, results };
  }

  /** `(a, b int, c *T)` or `(int, *T)`: Go's either-all-named-or-none parameter lists. */
  #params(): { name?: string; type: GoTypeExpr }[] {
    this.#expect("(");
    const entries: { name?: string; type: GoTypeExpr }[] = [];
    while (!this.#is(")")) {
      this.#semis();
      if (this.#is(")")) break;
      // A parameter name is an identifier that is not a type keyword: in `(*T, func() string)`
      // `func` starts a type, not a parameter named "func".
      if (
        this.#tok.kind === "ident" && !TYPE_KEYWORDS.has(this.#tok.text) && !this.#is(".", 1) &&
        this.#startsType(1)
      ) {
        const name = this.#ident();
        if (this.#is("...")) this.#i++;
        entries.push({ name, type: this.#type() });
      } else {
        if (this.#is("...")) this.#i++;
        entries.push({ type: this.#type() });
      }
      if (!this.#is(",")) break;
      this.#i++;
      this.#semis();
    }
    this.#expect(")");
    // `a, b int`: a bare name before a named parameter is a name of the same type.
    if (entries.some((e) => e.name !== undefined)) {
      for (let k = entries.length - 1, next: GoTypeExpr | undefined; k >= 0; k--) {
        const e = entries[k];
        if (e.name !== undefined) next = e.type;
        else if (e.type.kind === "named" && !e.type.pkg && next) {
          entries[k] = { name: e.type.name, type: next };
        }
      }
    }
    return entries;
  }

  /** Whether the token `n` ahead can start a type. */
  #startsType(n: number): boolean {
    const t = this.#peek(n);
    if (t.kind === "ident") return true;
    return t.kind === "op" && ["*", "[", "(", "<-", "..."].includes(t.text);
  }

  #depth = 0;

  /** A type; nested at most {@linkcode MAX_DEPTH} deep (a hostile answer cannot overflow). */
  #type(): GoTypeExpr {
    if (++this.#depth > MAX_DEPTH) this.#fail(`a type nested at most ${MAX_DEPTH} deep`);
    try {
      return this.#typeInner();
    } finally {
      this.#depth--;
    }
  }

  #typeInner(): GoTypeExpr {
    const t = this.#tok;
    if (t.kind === "op") {
      switch (t.text) {
        case "*":
          this.#i++;
          // Go's reflection writes `arg *` when it has no name for the type.
          if (this.#is(",") || this.#is(")")) return { kind: "ptr", elem: { kind: "missing" } };
          return { kind: "ptr", elem: this.#type() };
        case "[": {
          this.#i++;
          if (this.#is("]")) {
            this.#i++;
            return { kind: "slice", elem: this.#type() };
          }
          let len = "";
          while (!this.#is("]")) {
            if (this.#tok.kind === "eof" || this.#tok.kind === ";") this.#fail('"]"');
            len += this.#t[this.#i++].text;
          }
          this.#i++;
          return { kind: "array", len, elem: this.#type() };
        }
        case "(": {
          this.#i++;
          const inner = this.#type();
          this.#expect(")");
          return inner;
        }
        case "<-":
          this.#i++;
          this.#expect("chan");
          return { kind: "chan", elem: this.#type() };
      }
      this.#fail("a type");
    }
    if (t.kind !== "ident") this.#fail("a type");
    switch (t.text) {
      case "map": {
        this.#i++;
        this.#expect("[");
        const key = this.#type();
        this.#expect("]");
        return { kind: "map", key, elem: this.#type() };
      }
      case "chan":
        this.#i++;
        if (this.#is("<-")) this.#i++;
        return { kind: "chan", elem: this.#type() };
      case "func":
        this.#i++;
        this.#signature();
        return { kind: "func" };
      case "interface": {
        this.#i++;
        const open = this.#i;
        if (!this.#is("{")) this.#fail('"{"');
        this.#skipBalanced();
        const empty = this.#t.slice(open + 1, this.#i - 1).every((x) => x.kind === ";");
        return { kind: "interface", empty };
      }
      case "struct":
        this.#i++;
        return { kind: "struct", fields: this.#fields() };
    }
    this.#i++;
    let pkg: string | undefined;
    let name = t.text;
    if (this.#is(".")) {
      this.#i++;
      pkg = name;
      name = this.#ident();
    }
    const args: GoTypeExpr[] = [];
    if (this.#is("[") && !this.#is("]", 1) && this.#typeArgsAhead()) {
      this.#i++;
      while (!this.#is("]")) {
        args.push(this.#type());
        if (this.#is(",")) this.#i++;
      }
      this.#i++;
    }
    return { kind: "named", pkg, name, args };
  }

  /** After a type name, `[` starts type arguments when a type follows (not an array length). */
  #typeArgsAhead(): boolean {
    const t = this.#peek(1);
    return t.kind === "ident" || (t.kind === "op" && ["*", "[", "("].includes(t.text));
  }

  #fields(): GoStructField[] {
    this.#expect("{");
    const fields: GoStructField[] = [];
    for (this.#semis(); !this.#is("}"); this.#semis()) {
      let names: string[] = [];
      let type: GoTypeExpr;
      const embedded = this.#is("*") ||
        (this.#tok.kind === "ident" &&
          (this.#is(".", 1) || this.#peek().kind === ";" || this.#is("}", 1) ||
            this.#peek().kind === "string"));
      if (embedded) type = this.#type();
      else {
        names = [this.#ident()];
        while (this.#is(",")) {
          this.#i++;
          names.push(this.#ident());
        }
        type = this.#type();
      }
      let tag = "";
      if (this.#tok.kind === "string") tag = unquote(this.#t[this.#i++].text);
      fields.push({ names, type, tag });
      if (!this.#is("}") && this.#tok.kind !== ";") this.#fail("a newline after the field");
    }
    this.#i++;
    return fields;
  }
}

/**
 * Parses Go declarations (a reflection answer or a Go source file) into its type and method
 * declarations. Throws {@linkcode GoSyntaxError} on text outside the subset.
 */
export function parseGo(text: string): GoDecls {
  return new Parser(tokenize(text)).file();
}
