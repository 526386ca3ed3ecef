// Strict decoding: every rejection names the file, the JSON path and (for versions) found vs supported.

import { ConfigError, ManifestError, NexaError } from "@nexa/modules/monitoring";

import { LogEvent } from "@nexa/proto/nexa/v1/log";

import { CONTRACTS, decodeManifest, digestBytes } from "./index";
import type { Contract } from "./index";

const D = digestBytes("x");
const shard = (digest: unknown = D) => ({
  file: { digest, sizeBytes: 1, path: "s.jsonl" },
  recordCount: 1,
  split: "train",
});
const dataset = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    schemaVersion: 1,
    name: "d",
    splits: [{ name: "train" }],
    shards: [shard(), shard(), shard()],
    producer: { stageName: "data", stageId: "a".repeat(64) },
    ...over,
  });

function decodeError(
  text: string,
  contract: Contract<unknown> = CONTRACTS.DatasetManifest as Contract<unknown>,
): NexaError {
  try {
    decodeManifest(contract as never, text, "dataset.json");
  } catch (err) {
    expect(err).toBeInstanceOf(NexaError);
    return err as NexaError;
  }
  throw new Error("expected decoding to fail");
}

describe("decodeManifest", () => {
  it("accepts a valid manifest, in camelCase or snake_case", () => {
    expect(decodeManifest(CONTRACTS.DatasetManifest, dataset(), "dataset.json").shards).toHaveLength(3);
    const snake = dataset()
      .replace('"schemaVersion"', '"schema_version"')
      .replace(/"recordCount"/g, '"record_count"');
    expect(decodeManifest(CONTRACTS.DatasetManifest, snake, "dataset.json").shards[0].recordCount).toBe(1);
  });

  it("wrong type: names file and JSON path", () => {
    const err = decodeError(dataset({ shards: [shard(), shard(), { ...shard(), file: { digest: 5, path: "s" } }] }));
    expect(err.message).toBe("dataset.json: $.shards[2].file.digest: expected string, found number");
    expect(err).toBeInstanceOf(ManifestError);
    expect(err.code).toBe("MANIFEST_WRONG_TYPE");
    expect(err.context).toMatchObject({ file: "dataset.json", jsonPath: "$.shards[2].file.digest" });
  });

  it.each([
    [{ name: 5 }, "$.name: expected string, found number"],
    [{ recordCount: "many" }, "$.recordCount: expected number, found string"],
    [{ recordCount: 1.5 }, "$.recordCount: expected integer, found number"],
    [{ shards: {} }, "$.shards: expected array, found object"],
    [{ producer: "data" }, "$.producer: expected object, found string"],
    [{ sources: [{ kind: "KIND_BOGUS" }] }, '$.sources[0].kind: unknown enum value "KIND_BOGUS"'],
    [{ sources: [{ kind: 99 }] }, "$.sources[0].kind: unknown enum value 99"],
  ])("wrong type %j", (over, expected) => {
    expect(decodeError(dataset(over)).message).toBe(`dataset.json: ${expected}`);
  });

  it("accepts proto3 forms: integer strings, enum names and numbers, null as default", () => {
    const m = decodeManifest(
      CONTRACTS.DatasetManifest,
      dataset({ recordCount: "12", seed: null, sources: [{ kind: 1 }, { kind: "KIND_TEACHER" }] }),
      "d.json",
    );
    expect(m.recordCount).toBe(12);
    expect(m.sources.map((s) => s.kind)).toEqual([1, 3]);
  });

  it("unknown field: names file, path and the field", () => {
    const err = decodeError(dataset({ shards: [shard(), { ...shard(), colour: "red" }] }));
    expect(err.message).toBe('dataset.json: $.shards[1].colour: unknown field "colour" of nexa.v1.DatasetManifest');
    expect(err.code).toBe("MANIFEST_UNKNOWN_FIELD");
    expect(err.hint).toContain("recordCount");
  });

  it("unsupported schema_version: names file, found and supported versions", () => {
    const err = decodeError(dataset({ schemaVersion: 2, newField: true }));
    expect(err.message).toBe(
      "dataset.json: $.schemaVersion: unsupported schema_version 2 of nexa.v1.DatasetManifest; this reader supports 1",
    );
    expect(err.code).toBe("MANIFEST_SCHEMA_VERSION");
    expect(err.context).toMatchObject({ found: 2, supported: "1" });
    expect(err.hint).toContain("newer");
  });

  it("missing schema_version names the supported versions", () => {
    const text = JSON.stringify({ ...JSON.parse(dataset()), schemaVersion: undefined });
    expect(decodeError(text).message).toContain(
      'missing required field "schemaVersion" of nexa.v1.DatasetManifest (supported versions: 1)',
    );
  });

  it("missing required field", () => {
    const err = decodeError(dataset({ shards: [shard(), { ...shard(), split: "" }] }));
    expect(err.message).toBe(
      'dataset.json: $.shards[1].split: missing required field "split" of nexa.v1.DatasetManifest',
    );
    expect(err.code).toBe("MANIFEST_MISSING_FIELD");
  });

  it("invalid digest syntax", () => {
    expect(decodeError(dataset({ shards: [shard("md5:abc")] })).message).toBe(
      'dataset.json: $.shards[0].file.digest: invalid digest "md5:abc"',
    );
  });

  it("invalid JSON reports line and column, also where V8's message has no position", () => {
    const err = decodeError('{\n  "schemaVersion": 1,\n}');
    expect(err.code).toBe("MANIFEST_PARSE");
    expect(err.context).toMatchObject({ line: 3, column: 1 });
    expect(err.message).toBe('dataset.json:3:1: invalid JSON: unexpected "}"');
    // `{"a":}`: Node 20 says only "Unexpected token '}', ... is not valid JSON"
    expect(decodeError('{"schemaVersion": 1,\n "name": }').message).toBe(
      'dataset.json:2:10: invalid JSON: unexpected "}"',
    );
    expect(decodeError('{"schemaVersion": 1').message).toBe("dataset.json:1:20: invalid JSON: unexpected end of input");
  });

  it("configs raise ConfigError with CONFIG_ codes; a oneof takes one member", () => {
    const base = { schemaVersion: 1, sampling: { maxTokens: 8 } };
    const ok = decodeManifest(
      CONTRACTS.DistillConfig,
      JSON.stringify({ ...base, teacher: { checkpoint: { digest: D } } }),
      "distill.json",
    );
    expect(ok.teacher?.source).toEqual({ $case: "checkpoint", value: expect.objectContaining({ digest: D }) });
    const both = { ...base, teacher: { checkpoint: { digest: D }, endpoint: { model: "m" } } };
    const err = decodeError(JSON.stringify(both), CONTRACTS.DistillConfig);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      'dataset.json: $.teacher.endpoint: unknown field "endpoint" of nexa.v1.DistillConfig (or a second member of oneof "source", which already holds "checkpoint")',
    );
    const none = decodeError(JSON.stringify({ ...base, teacher: {} }), CONTRACTS.DistillConfig);
    expect(none.message).toBe(
      'dataset.json: $.teacher.source: missing required field "source" of nexa.v1.DistillConfig',
    );
    const unknown = decodeError(
      JSON.stringify({ ...base, teacher: { endpoint: { model: "m", apiKey: "secret" } } }),
      CONTRACTS.DistillConfig,
    );
    expect(unknown.code).toBe("CONFIG_UNKNOWN_FIELD");
    expect(unknown.context.jsonPath).toBe("$.teacher.endpoint.apiKey");
    const badDigest = decodeError(
      JSON.stringify({ ...base, teacher: { checkpoint: { digest: "sha256:xyz" } } }),
      CONTRACTS.DistillConfig,
    );
    expect(badDigest.context.jsonPath).toBe("$.teacher.checkpoint.digest");
  });

  it("map values are type-checked too", () => {
    // LogEvent (the documented log line shape) is the contract message with a map field; it is no decodable
    // manifest, so the test declares its contract here.
    const logEvent: Contract<LogEvent> = {
      name: "nexa.v1.LogEvent",
      codec: LogEvent,
      kind: "manifest",
      supportedVersions: [],
      required: [],
    };
    const err = decodeError(
      JSON.stringify({ stage: "s", event: "e", fields: { a: "1", b: 2 } }),
      logEvent as Contract<unknown>,
    );
    expect(err.message).toBe("dataset.json: $.fields.b: expected string, found number");
  });
});
