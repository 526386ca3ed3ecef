// The compare page's colours: a run's table column and its curves share one hue, the evaluated (last) checkpoint of
// each run in the dark shade.
import type { Catalog } from "@nexa/modules/registry";
import { CONTRACTS } from "@nexa/modules/manifest";

import { curveSeries, renderComparePage, runColour } from "./compare";
import type { RunRecord, StageRecord } from "./records";

const checkpoint = (stage: string, digest: string): StageRecord =>
  ({
    stage,
    product: {
      schema: CONTRACTS.CheckpointManifest.name,
      digest,
      path: "checkpoint.json",
      message: { metrics: { digest } },
    },
    metrics: {},
  }) as unknown as StageRecord;

const run = (runId: string): RunRecord =>
  ({
    runId,
    pipeline: "//pipelines:golden",
    publishedAt: "",
    rubric: "pass",
    codeRevision: "0123456789ab",
    metrics: {},
    stages: [checkpoint("teacher", `sha256:${runId}1`), checkpoint("train", `sha256:${runId}2`)],
  }) as unknown as RunRecord;

const catalog = {
  store: { get: async () => Buffer.from('{"step":1,"loss":2}\n{"step":2,"loss":1.5}\n') },
} as unknown as Catalog;

describe("compare colours", () => {
  it("gives each run its own hue and its evaluated checkpoint the dark shade of the column's colour", async () => {
    const runs = [run("a".repeat(64)), run("b".repeat(64))];
    const series = await curveSeries(catalog, runs);
    expect(series.map((s) => [s.label, s.colour])).toEqual([
      ["aaaaaaaa teacher", runColour(0, 1)],
      ["aaaaaaaa train", runColour(0)],
      ["bbbbbbbb teacher", runColour(1, 1)],
      ["bbbbbbbb train", runColour(1)],
    ]);
    expect(new Set(series.map((s) => s.colour)).size).toBe(4);
    const page = renderComparePage(runs, series);
    expect(page).toContain(`border-bottom:3px solid ${runColour(0)}">${"a".repeat(12)}`);
    expect(page).toContain(`border-bottom:3px solid ${runColour(1)}">${"b".repeat(12)}`);
  });

  it("keeps the lightest shade for checkpoints beyond the palette and wraps hues after eight runs", () => {
    expect(runColour(0, 9)).toBe(runColour(0, 2));
    expect(runColour(8)).toBe(runColour(0));
    expect(runColour(0)).not.toBe(runColour(1));
  });
});
