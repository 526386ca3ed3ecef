// Canonical encoding: equal messages → equal bytes, whatever the field or insertion order.

import { DatasetManifest } from "@nexa/proto/nexa/v1/dataset";
import { LogEvent } from "@nexa/proto/nexa/v1/log";

import { canonicalJson, digestMessage, encodeMessage } from "./index";

describe("canonicalJson", () => {
  it("sorts keys recursively and writes no whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it("insertion order does not change bytes", () => {
    const one: Record<string, number> = {};
    const two: Record<string, number> = {};
    ["k3", "k1", "k2"].forEach((k, i) => (one[k] = i));
    ["k2", "k3", "k1"].forEach((k) => (two[k] = one[k]));
    expect(canonicalJson(one)).toBe(canonicalJson(two));
  });

  it("writes numbers in the shortest round-trip form (RFC 8785)", () => {
    expect(canonicalJson([1.0, -0, 0.1, 1e21, 1e-7, 123456789012345, 2.5e-5])).toBe(
      "[1,0,0.1,1e+21,1e-7,123456789012345,0.000025]",
    );
    expect(canonicalJson([NaN, Infinity, -Infinity])).toBe('["NaN","Infinity","-Infinity"]');
  });

  it("writes UTF-8 strings with minimal escaping", () => {
    expect(canonicalJson({ é: 'ü\n"\u0001😀' })).toBe('{"é":"ü\\n\\"\\u0001😀"}');
  });

  it("skips undefined object members", () => {
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
  });
});

describe("encodeMessage", () => {
  it("field order and map insertion order do not change bytes or digest", () => {
    const a = DatasetManifest.fromPartial({ schemaVersion: 1, name: "d", recordCount: 3, textField: "text" });
    const b = DatasetManifest.fromJSON({ textField: "text", recordCount: 3, name: "d", schemaVersion: 1 });
    expect(encodeMessage(DatasetManifest, a)).toBe(encodeMessage(DatasetManifest, b));
    expect(encodeMessage(DatasetManifest, a)).toBe('{"name":"d","recordCount":3,"schemaVersion":1,"textField":"text"}');
    expect(digestMessage(DatasetManifest, a)).toBe(digestMessage(DatasetManifest, b));

    const l1 = LogEvent.fromPartial({ event: "e", fields: { x: "1", a: "2" } });
    const l2 = LogEvent.fromPartial({ event: "e", fields: { a: "2", x: "1" } });
    expect(encodeMessage(LogEvent, l1)).toBe(encodeMessage(LogEvent, l2));
  });

  it("omits default values, so an explicit default equals an absent field", () => {
    const a = DatasetManifest.fromJSON({ schemaVersion: 1, seed: 0, shards: [] });
    const b = DatasetManifest.fromJSON({ schemaVersion: 1 });
    expect(encodeMessage(DatasetManifest, a)).toBe(encodeMessage(DatasetManifest, b));
  });

  it("different content gives different digests", () => {
    const a = DatasetManifest.fromPartial({ schemaVersion: 1, seed: 1 });
    const b = DatasetManifest.fromPartial({ schemaVersion: 1, seed: 2 });
    expect(digestMessage(DatasetManifest, a)).not.toBe(digestMessage(DatasetManifest, b));
  });
});
