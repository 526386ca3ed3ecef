// The operator's view of dropped documents: taken from a DatasetManifest's exclusions, one line per reason.
import { CONTRACTS } from "@nexa/modules/manifest";
import { DatasetManifest } from "@nexa/proto/nexa/v1/dataset";

import { exclusionsOf, formatExclusions } from "./exclusions";

const dataset = DatasetManifest.fromPartial({
  exclusions: [
    {
      reason: "gate_min_bytes",
      file: { path: "excluded-gate_min_bytes.jsonl" },
      count: 12,
      firstLocations: ["corpus/a.jsonl:3", "corpus/b.jsonl:7"],
    },
    { reason: "invalid_utf8", file: { path: "excluded-invalid_utf8.jsonl" }, count: 1, firstLocations: ["t/x.txt:1"] },
  ],
});

describe("exclusions", () => {
  it("lists each reason of a dataset product with its count, first locations and exclusion file", () => {
    const list = exclusionsOf("data", { schema: CONTRACTS.DatasetManifest.name, message: dataset });
    expect(formatExclusions(list)).toBe(
      "dropped by data: 12 gate_min_bytes (first: corpus/a.jsonl:3, corpus/b.jsonl:7) -> data/excluded-gate_min_bytes.jsonl\n" +
        "dropped by data: 1 invalid_utf8 (first: t/x.txt:1) -> data/excluded-invalid_utf8.jsonl",
    );
  });

  it("is empty for other products and for datasets that dropped nothing", () => {
    expect(exclusionsOf("train", { schema: CONTRACTS.CheckpointManifest.name, message: dataset })).toEqual([]);
    const clean = DatasetManifest.fromPartial({});
    expect(exclusionsOf("data", { schema: CONTRACTS.DatasetManifest.name, message: clean })).toEqual([]);
    expect(exclusionsOf("data", undefined)).toEqual([]);
    expect(formatExclusions([])).toBe("");
  });
});
