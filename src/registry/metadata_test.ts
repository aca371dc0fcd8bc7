// Go's metadata readers (metadata.ts), pure: numbers as Go's strconv parses them, state and group
// filters as Go's url.ParseQuery reads them.
import assert from "node:assert/strict";
import { inGroup, isInactive, metadataPosition, metadataWeight } from "./metadata.ts";

Deno.test("metadataWeight: Go's strconv.Atoi, default 1", () => {
  const cases: [string, number][] = [
    ["weight=5", 5],
    ["weight=%2B7", 7],
    ["weight=+7", 1], // "+" is a space in a query, as Go reads it
    ["weight=-3", -3],
    ["weight=0", 0],
    ["weight=007", 7],
    ["", 1],
    ["weight=", 1],
    ["weight=abc", 1],
    ["weight=2.5", 1],
    ["weight=1e3", 1],
    ["weight=0x10", 1],
    ["weight= 5", 1],
    ["weight=5 ", 1],
    ["weight=9223372036854775808", 1], // past int64
    ["weight=9223372036854775807", 9223372036854775807],
    ["group=a&weight=4&weight=9", 4], // first value, as url.Values.Get
    ["weight=4;x=1", 1], // Go's ParseQuery refuses ';': metadata ignored
    ["weight=4&x=%zz", 1], // bad escape: metadata ignored
    ["weight=%34", 4], // escapes are decoded
  ];
  for (const [meta, want] of cases) assert.equal(metadataWeight(meta), want, meta);
});

Deno.test("metadataPosition: Go's strconv.ParseFloat; empty or invalid is no position", () => {
  assert.deepEqual(metadataPosition("latitude=48.85&longitude=2.35"), {
    latitude: 48.85,
    longitude: 2.35,
  });
  assert.deepEqual(metadataPosition("latitude=-1e1&longitude=.5"), {
    latitude: -10,
    longitude: 0.5,
  });
  assert.deepEqual(metadataPosition("latitude=5.&longitude=%2B0"), { latitude: 5, longitude: 0 });
  for (
    const meta of [
      "",
      "latitude=&longitude=",
      "latitude=1",
      "longitude=1",
      "latitude=1&longitude=",
      "latitude=abc&longitude=1",
      "latitude=1,5&longitude=1",
      "latitude=Infinity&longitude=1",
      "latitude=1e400&longitude=1",
      "latitude=1&longitude=2;x",
    ]
  ) assert.equal(metadataPosition(meta), undefined, meta);
});

Deno.test("state and group filters as Go's: unparsable metadata and an empty group filter nothing", () => {
  assert.equal(isInactive("state=inactive"), true);
  assert.equal(isInactive("state=active"), false);
  assert.equal(isInactive("state=inactive;x"), false);
  assert.equal(inGroup("group=a&group=b", "b"), true);
  assert.equal(inGroup("group=a", "b"), false);
  assert.equal(inGroup("", "b"), false);
  assert.equal(inGroup("group=a", ""), true);
  assert.equal(inGroup("group=a&%", "b"), true);
});
