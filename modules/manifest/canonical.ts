// Canonical JSON: one byte sequence per value, so equal messages have equal bytes and equal digests.
//
// The format is RFC 8785 (JSON Canonicalization Scheme) applied to the proto3 JSON form of a message:
//   - object keys sorted by UTF-16 code units, no whitespace, UTF-8 output;
//   - numbers written by ECMAScript Number.prototype.toString (shortest round-trip form; -0 → 0);
//   - strings escaped as JSON.stringify does (lone surrogates escaped, so the output is valid UTF-8);
//   - proto3 JSON specials: non-finite doubles become "NaN", "Infinity", "-Infinity"; fields equal to their
//     default value are omitted (the generated toJSON already omits them);
//   - 64-bit integers are JSON numbers (ts-proto forceLong=number bounds them to 2^53); readers also accept
//     the proto3 string form ("123").

import type { MessageCodec } from "./contracts";

// ----------------------------------------------------------------------------------------------------------
// values

function canonicalNumber(n: number): string {
  if (Number.isNaN(n)) return '"NaN"';
  if (n === Infinity) return '"Infinity"';
  if (n === -Infinity) return '"-Infinity"';
  return Object.is(n, -0) ? "0" : String(n);
}

/** Canonical JSON text of a plain JSON value (objects, arrays, strings, finite numbers, booleans, null). */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return canonicalNumber(value);
    case "string":
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return "[" + value.map((item) => canonicalJson(item ?? null)).join(",") + "]";
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJson(obj[k])).join(",") + "}";
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a value of type ${typeof value}`);
  }
}

/** Canonical UTF-8 bytes of a plain JSON value. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), "utf8");
}

// ----------------------------------------------------------------------------------------------------------
// messages

/** Canonical proto3 JSON text of a generated message. */
export function encodeMessage<T>(codec: MessageCodec<T>, message: T): string {
  return canonicalJson(codec.toJSON(message));
}

/** Canonical proto3 JSON bytes of a generated message (what manifest.json files contain). */
export function encodeMessageBytes<T>(codec: MessageCodec<T>, message: T): Buffer {
  return Buffer.from(encodeMessage(codec, message), "utf8");
}
