/**
 * The declarations `rpcx gen` reads from Go text (`go_parse.ts` builds them, `go_ts.ts` writes
 * TypeScript from them): type expressions, struct fields, type and method declarations.
 *
 * @module
 */

/** A Go type expression. */
export type GoTypeExpr =
  | { kind: "named"; pkg?: string; name: string; args: GoTypeExpr[] }
  | { kind: "ptr" | "slice" | "chan"; elem: GoTypeExpr }
  | { kind: "array"; len: string; elem: GoTypeExpr }
  | { kind: "map"; key: GoTypeExpr; elem: GoTypeExpr }
  | { kind: "struct"; fields: GoStructField[] }
  | { kind: "interface"; empty: boolean }
  | { kind: "func" }
  /** What Go's reflection writes for a type it could not name (`arg *` with nothing after). */
  | { kind: "missing" };

/** One struct field line: its names (none for an embedded field), type and tag. */
export interface GoStructField {
  names: string[];
  type: GoTypeExpr;
  /** The tag's value (`json:"a,omitempty"`), unquoted; "" when none. */
  tag: string;
}

/** `type Name[T any] Type` or `type Name = Type`, in package `pkg`. */
export interface GoTypeDecl {
  pkg: string;
  name: string;
  typeParams: string[];
  alias: boolean;
  type: GoTypeExpr;
  line: number;
}

/** A method declaration (or Go reflection's stub of one). */
export interface GoMethodDecl {
  pkg: string;
  receiver: string;
  name: string;
  params: { name?: string; type: GoTypeExpr }[];
  results: GoTypeExpr[];
  line: number;
}

/** Everything read from one or more texts, in order. */
export interface GoDecls {
  types: GoTypeDecl[];
  methods: GoMethodDecl[];
}
