import { diffLock, formatLock } from "./lock";
import type { Lock } from "./lock";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const lock = (m: string, out: string): Lock => ({
  pipeline: "//pipelines:golden",
  stages: { data: { stage_id: "a".repeat(64), manifest: D("1"), outputs: { "x.jsonl": D("2") } }, train: { stage_id: "b".repeat(64), manifest: D(m), outputs: { "model.safetensors": D(out) } } },
});

describe("diffLock", () => {
  it("is empty for equal locks and names the changed stage and file otherwise", () => {
    expect(diffLock(lock("3", "4"), lock("3", "4"))).toEqual([]);
    expect(diffLock(lock("3", "4"), lock("5", "6"))).toEqual([
      `train: manifest ${D("3")} -> ${D("5")}`,
      `  model.safetensors: ${D("4")} -> ${D("6")}`,
    ]);
  });

  it("reports added and removed stages", () => {
    const two = lock("3", "4");
    const one: Lock = { pipeline: two.pipeline, stages: { data: two.stages.data } };
    expect(diffLock(one, two)).toEqual([`train: new stage (manifest ${D("3")})`]);
    expect(diffLock(two, one)).toEqual([`train: stage missing from the pipeline (locked manifest ${D("3")})`]);
  });

  it("formats with sorted keys, one field per line", () => {
    const text = formatLock(lock("3", "4"));
    expect(text.split("\n").slice(0, 4)).toEqual(['{', '  "pipeline": "//pipelines:golden",', '  "stages": {', '    "data": {']);
    expect(text.indexOf('"manifest"')).toBeLessThan(text.indexOf('"outputs"'));
    expect(text.endsWith("}\n")).toBe(true);
  });
});
