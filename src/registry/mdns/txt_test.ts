// The mDNS TXT string (txt.ts), pure: byte-identical to what Go rpcx sends, every byte escaped as
// Go's url.QueryEscape, random entries round-trip. Over multicast: tests/mdns_test.ts.
import assert from "node:assert/strict";
import { RpcxError } from "../../protocol/errors.ts";
import { decodeMdnsText, encodeMdnsText, type MdnsServiceEntry } from "./txt.ts";

// The TXT format (no network): checked against what Go rpcx v1.9.4 (grandcat/zeroconf) sent for
// RegisterName("Arith", ..., "weight=7&group=g") on tcp@127.0.0.1:9981, captured on the wire.

const GO_TXT =
  "%5B%7B%22service%22%3A%22Arith%22%2C%22meta%22%3A%22weight%3D7%5Cu0026group%3Dg%22%2C" +
  "%22service_address%22%3A%22tcp%40127.0.0.1%3A9981%22%7D%5D";

Deno.test("mdns TXT: byte-identical to Go's url.QueryEscape(json.Marshal(services))", () => {
  const entries = [{
    service: "Arith",
    meta: "weight=7&group=g",
    service_address: "tcp@127.0.0.1:9981",
  }];
  assert.equal(encodeMdnsText(entries), GO_TXT);
  assert.deepEqual(decodeMdnsText(GO_TXT), entries);
});

Deno.test("mdns TXT: omitempty, Go's HTML escapes, spaces as '+', UTF-8, null, bad input", () => {
  assert.equal(
    encodeMdnsText([{ service: "S", meta: "", service_address: "tcp@h:1" }]),
    "%5B%7B%22service%22%3A%22S%22%2C%22service_address%22%3A%22tcp%40h%3A1%22%7D%5D",
  );
  const odd = { service: "S <x> ~é", meta: "a=1&b=2 3", service_address: "tcp@[::1]:8972" };
  const txt = encodeMdnsText([odd]);
  assert.match(txt, /%5Cu003cx%5Cu003e\+~%C3%A9/); // \u003c, \u003e, space as +, ~ kept, é UTF-8
  assert.match(txt, /a%3D1%5Cu0026b%3D2\+3/);
  assert.deepEqual(decodeMdnsText(txt), [odd]);
  assert.deepEqual(decodeMdnsText("null"), []);
  assert.deepEqual(decodeMdnsText("%5B%5D"), []);
  assert.throws(() => decodeMdnsText("%ZZ"));
  assert.throws(() => decodeMdnsText("k%3Dv"));
});

Deno.test("mdns TXT: every byte is escaped exactly as Go's url.QueryEscape", () => {
  for (let b = 0x20; b < 0x7f; b++) {
    const c = String.fromCharCode(b);
    const txt = encodeMdnsText([{ service: c }]);
    // `[{"service":"` + c + `"}]` escaped: the prefix and suffix are fixed.
    const inner = txt.slice("%5B%7B%22service%22%3A%22".length, -"%22%7D%5D".length);
    let want: string;
    if (/[A-Za-z0-9\-_.~]/.test(c)) want = c;
    else if (c === " ") want = "+";
    else if (c === '"') want = "%5C%22"; // JSON escapes it first: \"
    else if (c === "\\") want = "%5C%5C";
    else if (c === "<" || c === ">" || c === "&") {
      want = "%5Cu00" + b.toString(16); // Go's json.Marshal HTML escape, then %-escaped
    } else want = "%" + b.toString(16).toUpperCase().padStart(2, "0");
    assert.equal(inner, want, `byte 0x${b.toString(16)}`);
  }
});

Deno.test("mdns TXT: random entries round-trip, empty fields are left out", () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const alphabet = 'aZ9-_.~ &=%+<>"\\/é€😀\u2028';
  const word = () => {
    let s = "";
    const n = Math.floor(rand() * 12);
    for (let i = 0; i < n; i++) s += [...alphabet][Math.floor(rand() * [...alphabet].length)];
    return s;
  };
  for (let round = 0; round < 200; round++) {
    const entries: MdnsServiceEntry[] = [];
    const count = Math.floor(rand() * 4);
    for (let i = 0; i < count; i++) {
      entries.push({ service: word(), meta: word(), service_address: word() });
    }
    const back = decodeMdnsText(encodeMdnsText(entries));
    const want = entries.map((e) => {
      const o: MdnsServiceEntry = {};
      if (e.service) o.service = e.service;
      if (e.meta) o.meta = e.meta;
      if (e.service_address) o.service_address = e.service_address;
      return o;
    });
    assert.deepEqual(back, want);
  }
  // A bad escape is Go's url.EscapeError text (an RpcxError), as Go's QueryUnescape reports it.
  assert.throws(() => decodeMdnsText("%ZZ"), (e) =>
    e instanceof RpcxError &&
    e.message === 'invalid URL escape "%ZZ"');
  assert.throws(() => decodeMdnsText("%7B%7D"), TypeError); // `{}` is not an array
});
