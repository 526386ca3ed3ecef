// Strict proto3 JSON decoding of manifests and configs.
//
// The generated fromJSON is lenient (it ignores unknown keys and coerces types), so decoding runs it and then
// checks the input against what it produced:
//   1. JSON syntax                     → <file>:<line>: invalid JSON: …
//   2. schema_version (first, so a newer file reports its version rather than its new fields)
//                                      → <file>: $.schemaVersion: unsupported schema_version 2 of …; supported: 1
//   3. every input key is a field      → <file>: $.shards[0].colour: unknown field "colour" of …
//   4. every value has the field's type (decoded + re-encoded value compared with the input)
//                                      → <file>: $.shards[2].digest: expected string, found number
//   5. required fields of the contract table, digest syntax (oneof members: at most one, see step 3)
//                                      → <file>: $.name: missing required field "name"
// Every error is a ManifestError (or ConfigError for configs) with context { file, jsonPath } and a hint.

import { readFileSync } from "fs";

import { ConfigError, ManifestError, NexaError } from "@nexa/modules/monitoring";

import type { Contract } from "./contracts";
import { isDigest } from "./digest";
import { describeOffset, jsonErrorOffset, lineColumn } from "./json_position";

// ----------------------------------------------------------------------------------------------------------
// error construction

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

class DecodeContext {
  constructor(
    readonly contract: Contract<unknown>,
    readonly file: string,
  ) {}

  fail(
    suffix: string,
    jsonPath: string | undefined,
    message: string,
    hint: string,
    extra: Record<string, string | number> = {},
  ): never {
    const prefix = this.contract.kind === "config" ? "CONFIG_" : "MANIFEST_";
    const ErrorClass = this.contract.kind === "config" ? ConfigError : ManifestError;
    throw new ErrorClass(prefix + suffix, message, {
      context: { file: this.file, jsonPath, schema: this.contract.name, ...extra },
      hint,
    });
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function snakeToCamel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

// ----------------------------------------------------------------------------------------------------------
// step 1: JSON syntax

function parseJson(ctx: DecodeContext, text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    // V8's message has a position for some errors only, so the project's own scanner locates it (error path only)
    const offset = jsonErrorOffset(text);
    const { line, column } = lineColumn(text, offset < 0 ? 0 : offset);
    const ErrorClass = ctx.contract.kind === "config" ? ConfigError : ManifestError;
    const prefix = ctx.contract.kind === "config" ? "CONFIG_" : "MANIFEST_";
    throw new ErrorClass(prefix + "PARSE", `invalid JSON: ${describeOffset(text, offset)}`, {
      context: { file: ctx.file, line, column, schema: ctx.contract.name },
      hint: `the file must hold one proto3 JSON object of ${ctx.contract.name}`,
      cause: err,
    });
  }
}

// ----------------------------------------------------------------------------------------------------------
// step 2: schema_version

function checkSchemaVersion(ctx: DecodeContext, input: Record<string, unknown>): void {
  const supported = ctx.contract.supportedVersions;
  if (supported.length === 0) return;
  const key = "schemaVersion" in input ? "schemaVersion" : "schema_version" in input ? "schema_version" : undefined;
  const supportedText = supported.join(", ");
  if (key === undefined || input[key] === null) {
    ctx.fail(
      "SCHEMA_VERSION",
      "$.schemaVersion",
      `missing required field "schemaVersion" of ${ctx.contract.name} (supported versions: ${supportedText})`,
      `add "schemaVersion": ${supported[supported.length - 1]}`,
      { supported: supportedText },
    );
  }
  const raw = input[key];
  const found = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof found !== "number" || !Number.isInteger(found)) {
    ctx.fail(
      "WRONG_TYPE",
      `$.${key}`,
      `expected integer schema version, found ${describe(raw)}`,
      `write "schemaVersion": ${supported[supported.length - 1]}`,
      { supported: supportedText },
    );
  }
  if (!supported.includes(found)) {
    ctx.fail(
      "SCHEMA_VERSION",
      `$.${key}`,
      `unsupported schema_version ${found} of ${ctx.contract.name}; this reader supports ${supportedText}`,
      found > Math.max(...supported)
        ? "the file was written by a newer NexaCompute: upgrade this tool, or re-run the producing stage with this version"
        : "the file was written by an older, no longer supported NexaCompute: re-run the producing stage",
      { found, supported: supportedText },
    );
  }
}

// ----------------------------------------------------------------------------------------------------------
// steps 3 and 4: unknown fields and types (input vs decoded vs re-encoded)

const ENUM_NAME_RE = /^[A-Z][A-Z0-9_]*$/;
const INTEGER_STRING_RE = /^-?\d+$/;

function checkNumber(ctx: DecodeContext, input: unknown, decoded: number, encoded: unknown, path: string): void {
  const wrong = (expected: string) =>
    ctx.fail("WRONG_TYPE", path, `expected ${expected}, found ${describe(input)}`, `write a ${expected} at ${path}`);
  if (typeof input === "number") {
    if (typeof encoded === "string") {
      // Enum given by number: valid unless the generated code mapped it to UNRECOGNIZED.
      if (encoded === "UNRECOGNIZED")
        ctx.fail("INVALID_VALUE", path, `unknown enum value ${input}`, "use one of the enum's value names");
      return;
    }
    if ((encoded ?? 0) !== input) wrong("integer");
    return;
  }
  if (typeof input === "string") {
    if (INTEGER_STRING_RE.test(input) && Number(input) === decoded) return; // proto3 string form of an integer
    if (["NaN", "Infinity", "-Infinity"].includes(input) && (Number.isNaN(decoded) || !Number.isFinite(decoded)))
      return;
    if (decoded === -1 && encoded === "UNRECOGNIZED") {
      ctx.fail(
        "INVALID_VALUE",
        path,
        `unknown enum value ${JSON.stringify(input)}`,
        "use one of the enum's value names (see the .proto file)",
      );
    }
    if (!Number.isNaN(decoded) && ENUM_NAME_RE.test(input)) return; // a valid enum name
    wrong("number");
  }
  wrong(typeof encoded === "string" ? "enum name" : "number");
}

function checkValue(ctx: DecodeContext, input: unknown, decoded: unknown, encoded: unknown, path: string): void {
  if (input === null) return; // proto3 JSON: null means "default value"
  if (Array.isArray(decoded)) {
    if (!Array.isArray(input))
      ctx.fail("WRONG_TYPE", path, `expected array, found ${describe(input)}`, `write a JSON array at ${path}`);
    const encodedItems = Array.isArray(encoded) ? encoded : [];
    input.forEach((item, i) => {
      const itemPath = `${path}[${i}]`;
      if (item === null) ctx.fail("WRONG_TYPE", itemPath, "expected an element, found null", "remove the null element");
      checkValue(ctx, item, decoded[i], encodedItems[i], itemPath);
    });
    return;
  }
  if (isPlainObject(decoded)) {
    // A message or a map; for a map the decoded keys are exactly the input keys, so both cases work alike.
    if (!isPlainObject(input))
      ctx.fail("WRONG_TYPE", path, `expected object, found ${describe(input)}`, `write a JSON object at ${path}`);
    const encodedObj = isPlainObject(encoded) ? encoded : {};
    for (const key of Object.keys(input)) {
      const keyPath = childPath(path, key);
      const field = key in decoded ? key : snakeToCamel(key) in decoded ? snakeToCamel(key) : undefined;
      if (field !== undefined) {
        checkValue(ctx, input[key], decoded[field], encodedObj[field], keyPath);
        continue;
      }
      // oneof members live in a union property { $case: member, value } (ts-proto oneof=unions-value).
      const member = snakeToCamel(key);
      const union = Object.entries(decoded).find(([, u]) => isPlainObject(u) && "$case" in u && "value" in u);
      if (union !== undefined && (union[1] as { $case: string }).$case === member) {
        checkValue(ctx, input[key], (union[1] as { value: unknown }).value, encodedObj[member], keyPath);
        continue;
      }
      const oneofNote =
        union !== undefined
          ? ` (or a second member of oneof "${union[0]}", which already holds "${(union[1] as { $case: string }).$case}")`
          : "";
      ctx.fail(
        "UNKNOWN_FIELD",
        keyPath,
        `unknown field ${JSON.stringify(key)} of ${ctx.contract.name}${oneofNote}`,
        `known fields here: ${Object.keys(decoded).join(", ")}; remove the field or fix its spelling; set one member per oneof`,
      );
    }
    return;
  }
  switch (typeof decoded) {
    case "string":
      if (typeof input !== "string")
        ctx.fail("WRONG_TYPE", path, `expected string, found ${describe(input)}`, `quote the value at ${path}`);
      return;
    case "boolean":
      if (typeof input !== "boolean")
        ctx.fail("WRONG_TYPE", path, `expected boolean, found ${describe(input)}`, `write true or false at ${path}`);
      return;
    case "number":
      checkNumber(ctx, input, decoded, encoded, path);
      return;
    default:
      return; // undefined: an unset optional message (input was null or absent)
  }
}

// ----------------------------------------------------------------------------------------------------------
// step 5: required fields and digest syntax (on the decoded message)

/** The value of a oneof union { $case, value }; other values unchanged. */
function unwrapUnion(value: unknown): unknown {
  return isPlainObject(value) && typeof value.$case === "string" && "value" in value ? value.value : value;
}

function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === "" || value === 0 || value === false) return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/** Resolves "a.b[].c" against `root`, returning [jsonPath, parent object, leaf key] for every match. */
function resolve(root: unknown, pattern: string): Array<[string, Record<string, unknown>, string]> {
  let frontier: Array<[string, unknown]> = [["$", root]];
  const parts = pattern.split(".");
  const out: Array<[string, Record<string, unknown>, string]> = [];
  parts.forEach((part, index) => {
    const isList = part.endsWith("[]");
    const key = isList ? part.slice(0, -2) : part;
    const last = index === parts.length - 1;
    const next: Array<[string, unknown]> = [];
    for (const [path, value] of frontier) {
      if (!isPlainObject(value)) continue;
      if (last && !isList) {
        out.push([`${path}.${key}`, value, key]);
        continue;
      }
      const child = unwrapUnion(value[key]);
      if (isList) (Array.isArray(child) ? child : []).forEach((item, i) => next.push([`${path}.${key}[${i}]`, item]));
      else if (child !== undefined) next.push([`${path}.${key}`, child]);
    }
    frontier = next;
  });
  return out;
}

function checkRules(ctx: DecodeContext, decoded: unknown): void {
  for (const pattern of ctx.contract.required) {
    for (const [path, parent, key] of resolve(decoded, pattern)) {
      if (!isSet(parent[key])) {
        ctx.fail(
          "MISSING_FIELD",
          path,
          `missing required field ${JSON.stringify(key)} of ${ctx.contract.name}`,
          `set ${path} to a non-default value`,
        );
      }
    }
  }
  checkDigests(ctx, decoded, "$");
}

/** Every non-empty field named "digest" or "*Digest" must be "sha256:" + 64 lowercase hex. */
function checkDigests(ctx: DecodeContext, value: unknown, path: string): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkDigests(ctx, item, `${path}[${i}]`));
  } else if (isPlainObject(value)) {
    if (typeof value.$case === "string" && "value" in value) {
      checkDigests(ctx, value.value, path.replace(/\.[^.]*$/, `.${value.$case}`));
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      const childP = `${path}.${key}`;
      if (
        (key === "digest" || key.endsWith("Digest")) &&
        typeof child === "string" &&
        child !== "" &&
        !isDigest(child)
      ) {
        ctx.fail(
          "INVALID_VALUE",
          childP,
          `invalid digest ${JSON.stringify(child)}`,
          'a digest is "sha256:" followed by 64 lowercase hex characters',
        );
      }
      checkDigests(ctx, child, childP);
    }
  }
}

// ----------------------------------------------------------------------------------------------------------
// public API

/**
 * Decodes proto3 JSON text into a message of `contract`, strictly (see the header comment).
 * `file` names the source in errors; pass it as the operator would recognize it (e.g. a workspace path).
 */
export function decodeManifest<T>(contract: Contract<T>, text: string | Uint8Array, file: string): T {
  const ctx: DecodeContext = new DecodeContext(contract as Contract<unknown>, file);
  const source = typeof text === "string" ? text : Buffer.from(text).toString("utf8");
  const input = parseJson(ctx, source);
  if (!isPlainObject(input))
    ctx.fail(
      "WRONG_TYPE",
      "$",
      `expected object, found ${describe(input)}`,
      `the file must hold one JSON object of ${contract.name}`,
    );
  checkSchemaVersion(ctx, input);
  let decoded: T;
  try {
    decoded = contract.codec.fromJSON(input);
  } catch (err) {
    if (err instanceof NexaError) throw err;
    ctx.fail(
      "INVALID_VALUE",
      "$",
      `cannot decode: ${err instanceof Error ? err.message : String(err)}`,
      "check the value types against the .proto file",
    );
  }
  checkValue(ctx, input, decoded, contract.codec.toJSON(decoded), "$");
  checkRules(ctx, decoded);
  return decoded;
}

/** Reads and strictly decodes a manifest/config file. `displayName` (default: `path`) names it in errors. */
export function readManifest<T>(contract: Contract<T>, path: string, displayName: string = path): T {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const ErrorClass = contract.kind === "config" ? ConfigError : ManifestError;
    throw new ErrorClass(
      (contract.kind === "config" ? "CONFIG_" : "MANIFEST_") + "READ",
      `cannot read ${contract.name}`,
      {
        context: { file: displayName },
        cause: err,
        hint: "check that the path exists and is readable",
      },
    );
  }
  return decodeManifest(contract, bytes, displayName);
}

/** Validates an in-memory message against the contract's rules (before writing it). */
export function validateMessage<T>(contract: Contract<T>, message: T, file = "<memory>"): void {
  checkRules(new DecodeContext(contract as Contract<unknown>, file), message);
}
