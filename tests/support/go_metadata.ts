// Test metadata for the CLI and the admin page (issue 27).
/**
 * Metadata where Go's `url.ParseQuery` and the browser's URLSearchParams differ (a `;`, a bad
 * `%` escape, a lone `%`), and where they agree (`+` a space, a key without `=`), as written by
 * hand or by another tool into a registry.
 */
export const GO_QUERY_NODES: Record<string, string> = {
  // Go's client ignores metadata it cannot parse: active, no weight, no group.
  "tcp@127.0.0.1:1": "state=inactive&weight=4&x=%zz",
  "tcp@127.0.0.1:2": "weight=5;&group=a",
  "tcp@127.0.0.1:3": "state=inactive&weight=1%",
  // Both rules agree: `+` is a space, %32 is "2", `state` alone is an empty state.
  "tcp@127.0.0.1:4": "group=a+b&weight=%32&state",
};
