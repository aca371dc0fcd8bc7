/**
 * The admin page's HTML (one file: markup, style and script; no build step).
 *
 * @module
 */

/** The page served at `/` by the admin server. */
export const PAGE_HTML: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rpcx registry admin</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2433; background: #f6f7fb; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
  h2 { font-size: 1rem; margin: 1.4rem 0 .4rem; font-family: ui-monospace, monospace; }
  h3 { font-size: .95rem; margin: .8rem 0 .3rem; }
  #status { color: #667; font-size: .85rem; }
  #status.live::before { content: "● "; color: #1a7f37; }
  #status.down::before { content: "● "; color: #b42318; }
  table { border-collapse: collapse; width: 100%; background: #fff; box-shadow: 0 1px 2px #0001; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e4e7ef; }
  th { font-size: .75rem; text-transform: uppercase; color: #667; letter-spacing: .04em; }
  td.key, td.meta { font-family: ui-monospace, monospace; font-size: .85rem; }
  td.meta { color: #556; word-break: break-all; }
  td.actions { white-space: nowrap; }
  .state { display: inline-block; padding: .05rem .5rem; border-radius: 1rem; font-size: .8rem; }
  .state.active { background: #dcfce7; color: #166534; }
  .state.inactive { background: #fee2e2; color: #991b1b; }
  tr.inactive td { opacity: .75; }
  input { width: 5rem; font: inherit; padding: .1rem .3rem; }
  button { font: inherit; padding: .15rem .6rem; cursor: pointer; }
  .error { color: #b42318; }
</style>
</head>
<body>
<h1>rpcx registry admin</h1>
<div id="status">connecting…</div>
<div id="registries"></div>
<script>
const root = document.getElementById("registries");
const status = document.getElementById("status");
let snapshot = { registries: [] };
let editing = false;
const drafts = new Map(); // unsaved weight/group edits per server, kept across re-renders

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined) e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

async function set(registry, service, key, assignments) {
  status.textContent = "writing " + service + " " + key + "…";
  const res = await fetch("/api/set", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ registry, service, key, set: assignments }),
  });
  const body = await res.json();
  editing = false;
  if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  render();
  status.textContent = res.ok ? "wrote " + service + " " + key + ": " + body.metadata
    : "error: " + body.error;
}

function row(reg, n) {
  // The server sends each node's state, weight and groups, read by Go's rules (NodeView): the
  // page parses no metadata.
  const inactive = n.state === "inactive";
  const id = reg.url + " " + n.service + " " + n.key;
  const draft = drafts.get(id) || {};
  const writable = reg.writable ? undefined : "disabled";
  const weight = el("input", { class: "weight", disabled: writable, value: draft.weight ?? (n.weight || ""), placeholder: "-" });
  const group = el("input", { class: "group", disabled: writable, value: draft.group ?? n.groups.join(","), placeholder: "-" });
  for (const [name, i] of [["weight", weight], ["group", group]]) {
    i.addEventListener("focus", () => editing = true);
    i.addEventListener("input", () => drafts.set(id, { ...drafts.get(id), [name]: i.value }));
    i.addEventListener("blur", () => { editing = false; setTimeout(render); });
  }
  return el("tr", { "data-service": n.service, "data-key": n.key, class: inactive ? "inactive" : "" },
    el("td", {}, n.service),
    el("td", { class: "key" }, n.key),
    el("td", {}, el("span", { class: "state " + (inactive ? "inactive" : "active") },
      inactive ? "inactive" : "active")),
    el("td", {}, weight),
    el("td", {}, group),
    el("td", { class: "meta" }, n.metadata || "-"),
    el("td", { class: "actions" },
      el("button", { class: "toggle", disabled: writable,
        onclick: () => set(reg.url, n.service, n.key, ["state=" + (inactive ? "active" : "inactive")]),
      }, inactive ? "Activate" : "Deactivate"),
      " ",
      el("button", { class: "save", disabled: writable,
        onmousedown: (e) => e.preventDefault(),
        onclick: async () => {
          await set(reg.url, n.service, n.key, ["weight=" + weight.value.trim(), "group=" + group.value.trim()]);
          drafts.delete(id);
          render();
        },
      }, "Save")));
}

// Rows are kept while their server's metadata does not change, so a re-render caused by another
// server neither resets what is typed here nor swaps the element under the pointer.
let rows = new Map();
function cachedRow(reg, n) {
  const id = reg.url + " " + n.service + " " + n.key;
  const sig = n.metadata + (reg.writable ? "" : " ro") + JSON.stringify(drafts.get(id) || null);
  const hit = rows.get(id);
  const tr = hit && hit.sig === sig ? hit.tr : row(reg, n);
  nextRows.set(id, { sig, tr });
  return tr;
}
let nextRows = new Map();

function render() {
  if (editing || document.activeElement?.tagName === "INPUT") return;
  nextRows = new Map();
  root.replaceChildren(...snapshot.registries.map((reg) => {
    const services = [...new Set(reg.nodes.map((n) => n.service))];
    return el("section", { "data-registry": reg.url },
      el("h2", {}, reg.url + (reg.writable ? "" : " (read-only)")),
      reg.error ? el("div", { class: "error" }, "unreachable: " + reg.error) : "",
      services.length === 0 ? el("div", {}, "no services") : "",
      ...services.map((s) => el("div", { class: "service", "data-service": s },
        el("h3", {}, s),
        el("table", {},
          el("thead", {}, el("tr", {}, ...["service", "server", "state", "weight", "group", "metadata", ""]
            .map((h) => el("th", {}, h)))),
          el("tbody", {}, ...reg.nodes.filter((n) => n.service === s).map((n) => cachedRow(reg, n)))))));
  }));
  rows = nextRows;
}

const events = new EventSource("/api/events");
events.onmessage = (e) => {
  snapshot = JSON.parse(e.data);
  status.className = "live";
  if (!status.textContent.startsWith("wrote") && !status.textContent.startsWith("error")) {
    status.textContent = "live";
  }
  render();
};
events.onerror = () => { status.className = "down"; status.textContent = "reconnecting…"; };
</script>
</body>
</html>
`;
