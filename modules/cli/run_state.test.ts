// The live table's state derivation (progress files + build events), its text and its JSON lines.
import type { ProgressRecord } from "@nexa/modules/monitoring";

import { changedRows, deriveRows, emptyEvents, foldBuildEvent, formatProgress, renderTable } from "./run_state";

const stages = ["data", "train", "eval"].map((s) => ({ stage: s, label: `//pipelines:${s}` }));

function rec(stage: string, state: ProgressRecord["state"], extra: Partial<ProgressRecord> = {}): ProgressRecord {
  return {
    label: `//pipelines:${stage}`,
    stage,
    command: "run",
    shard: 0,
    num_shards: 1,
    state,
    pid: 1,
    started_ms: 1000,
    updated_ms: 3000,
    ...extra,
  };
}

describe("deriveRows", () => {
  it("queued until a stage starts; running with its latest progress; elapsed from its first action", () => {
    const progress = { label: "train", done: 10, total: 40, unit: "steps", loss: 2.5, tokens_per_s: 1500, eta_s: 30 };
    const rows = deriveRows(stages, [rec("train", "running", { progress })], emptyEvents(), 5000);
    expect(rows.map((r) => r.state)).toEqual(["queued", "running", "queued"]);
    expect(rows[1]).toMatchObject({ elapsedS: 4, progress });
  });

  it("a sharded stage is done only when its merge is; failed when any action failed", () => {
    const shard = (i: number, state: ProgressRecord["state"]) =>
      rec("data", state, { shard: i, num_shards: 2, label: "//pipelines:data" });
    expect(deriveRows(stages, [shard(0, "done"), shard(1, "done")], emptyEvents(), 5000)[0].state).toBe("running");
    const merged = [shard(0, "done"), shard(1, "done"), rec("data", "done", { command: "merge", num_shards: 2 })];
    expect(deriveRows(stages, merged, emptyEvents(), 5000)[0]).toMatchObject({ state: "done", elapsedS: 2 });
    const failed = [shard(0, "done"), rec("data", "failed", { shard: 1, num_shards: 2, error: "DATA_X: bad line" })];
    expect(deriveRows(stages, failed, emptyEvents(), 5000)[0]).toMatchObject({
      state: "failed",
      error: "DATA_X: bad line",
    });
  });

  it("after the build: never started = cached (or skipped when it failed); Bazel's failures count", () => {
    const events = emptyEvents();
    foldBuildEvent(
      events,
      JSON.stringify({ id: { buildFinished: {} }, finished: { overallSuccess: true, exitCode: { name: "SUCCESS" } } }),
    );
    expect(deriveRows(stages, [rec("train", "done")], events, 9000).map((r) => r.state)).toEqual([
      "cached",
      "done",
      "cached",
    ]);
    const failed = emptyEvents();
    foldBuildEvent(
      failed,
      JSON.stringify({
        id: { actionCompleted: { label: "//pipelines:train" } },
        action: { success: false, label: "//pipelines:train", type: "NexaStage" },
      }),
    );
    foldBuildEvent(
      failed,
      JSON.stringify({ id: { buildFinished: {} }, finished: { exitCode: { name: "BUILD_FAILURE", code: 1 } } }),
    );
    expect(failed.finished).toEqual({ success: false, exitCode: 1, name: "BUILD_FAILURE" });
    expect(deriveRows(stages, [], failed, 9000).map((r) => r.state)).toEqual(["skipped", "failed", "skipped"]);
    // a running record of a killed action: the build's outcome decides
    expect(deriveRows(stages, [rec("eval", "running")], failed, 9000)[2].state).toBe("failed");
  });

  it("a stage action Bazel reports without a progress file was a cache hit", () => {
    const events = emptyEvents();
    foldBuildEvent(
      events,
      JSON.stringify({
        id: { actionCompleted: {} },
        action: { success: true, label: "//pipelines:data", type: "NexaStage" },
      }),
    );
    foldBuildEvent(
      events,
      JSON.stringify({
        id: { actionCompleted: {} },
        action: { success: true, label: "//pipelines:x", type: "Genrule" },
      }),
    );
    foldBuildEvent(events, "{not json");
    expect(deriveRows(stages, [], events, 1)[0].state).toBe("cached");
    expect([...events.actions.keys()]).toEqual(["//pipelines:data"]);
  });

  it("keeps Bazel's last progress line", () => {
    const events = emptyEvents();
    foldBuildEvent(
      events,
      JSON.stringify({
        id: { progress: {} },
        progress: { stderr: "Loading:\n[12 / 30] Stage train (modules/train); 41s linux-sandbox\n" },
      }),
    );
    expect(events.lastMessage).toBe("[12 / 30] Stage train (modules/train); 41s linux-sandbox");
  });
});

describe("rendering", () => {
  it("formats train, distill and pack progress", () => {
    expect(formatProgress({ done: 120, total: 400, unit: "steps", loss: 3.2101, tokens_per_s: 12345, eta_s: 41 })).toBe(
      "step 120/400  loss 3.210  12.3k tok/s  eta 41s",
    );
    expect(formatProgress({ done: 5, total: 64, unit: "generations", eta_s: 0 })).toBe("5/64 generations");
    expect(formatProgress({ done: 1, total: 2, unit: "splits", documents: 1500 })).toBe("1/2 splits  1.5k documents");
    expect(formatProgress(undefined)).toBe("");
  });

  it("renders a table and emits JSON lines only for changed rows", () => {
    const rows = deriveRows(stages, [rec("train", "failed", { error: "TRAIN_X: boom" })], emptyEvents(), 5000);
    const lines = renderTable(rows, "bazel: building");
    expect(lines[0]).toMatch(/^STAGE\s+STATE\s+ELAPSED\s+PROGRESS$/);
    expect(lines[2]).toMatch(/^train\s+failed\s+2\.0s\s+TRAIN_X: boom$/);
    expect(lines[lines.length - 1]).toBe("bazel: building");
    const seen = new Map<string, string>();
    expect(changedRows(rows, seen).map((r) => r.stage)).toEqual(["data", "train", "eval"]);
    expect(changedRows(rows, seen)).toEqual([]);
  });
});
