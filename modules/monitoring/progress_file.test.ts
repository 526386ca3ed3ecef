import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { createLogger, createProgress, openProgressSink, outputBaseOf, progressDir, progressFileName } from "./index";

const record = { label: "//pipelines:train", stage: "train", command: "run", shard: 0, num_shards: 1 };

describe("progress files", () => {
  it("records running, the latest numbers and the final state, atomically", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "progress-"));
    const file = path.join(dir, "p.json");
    let t = 1000;
    const sink = openProgressSink({ file, record, now: () => t, minIntervalMs: 100 });
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({
      state: "running",
      stage: "train",
      pid: process.pid,
    });
    t += 10;
    sink.update({ done: 1 }); // throttled
    expect(JSON.parse(readFileSync(file, "utf8")).progress).toBeUndefined();
    t += 200;
    sink.update({ done: 2 });
    expect(JSON.parse(readFileSync(file, "utf8")).progress).toEqual({ done: 2 });
    sink.finish("failed", "TRAIN_X: boom");
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ state: "failed", error: "TRAIN_X: boom" });
    expect(readdirSync(dir)).toEqual(["p.json"]); // no temporary file left
  });

  it("never throws, and never creates the directory, when the file cannot be written", () => {
    const missing = path.join(tmpdir(), "no-such-progress-dir", String(process.pid), "p.json");
    const sink = openProgressSink({ file: missing, record });
    expect(() => sink.update({ done: 1 }, true)).not.toThrow();
    expect(() => sink.finish("done")).not.toThrow();
    const blocker = path.join(mkdtempSync(path.join(tmpdir(), "progress-")), "file");
    writeFileSync(blocker, "x"); // a file where the directory should be
    const sink2 = openProgressSink({ file: path.join(blocker, "p.json"), record });
    expect(() => sink2.finish("done")).not.toThrow();
  });

  it("an action finds its output base from the real path of a bazel-out input", () => {
    const base = mkdtempSync(path.join(tmpdir(), "obase-"));
    const real = path.join(base, "execroot", "ws", "bazel-out", "k8-opt-exec", "bin", "m");
    mkdirSync(real, { recursive: true });
    writeFileSync(path.join(real, "stage.bundle.js"), "");
    const sandbox = mkdtempSync(path.join(tmpdir(), "sandbox-"));
    symlinkSync(path.join(real, "stage.bundle.js"), path.join(sandbox, "stage.bundle.js"));
    expect(outputBaseOf(path.join(sandbox, "stage.bundle.js"))).toBe(base);
    expect(outputBaseOf(path.join(sandbox, "missing.js"))).toBeUndefined();
    expect(progressDir(base, 7)).toMatch(/^\/tmp\/nexa-progress-7\/[0-9a-f]{16}$/);
    expect(progressFileName("//pipelines:data", "run", 1, 2)).toBe("pipelines_data.shard-1-of-2.json");
    expect(progressFileName("//pipelines:data", "merge", 0, 2)).toBe("pipelines_data.merge.json");
    expect(progressFileName("//experiments/x:train", "run", 0, 1)).toBe("experiments_x_train.json");
  });

  it("createProgress reports done/total, extra numbers and an ETA to its sink", () => {
    const updates: Record<string, unknown>[] = [];
    let t = 0;
    const p = createProgress({
      logger: createLogger({ runId: "", stage: "train", destination: path.join(tmpdir(), `pl-${process.pid}.jsonl`) }),
      label: "train",
      total: 4,
      unit: "steps",
      tty: false,
      now: () => t,
      sink: { update: (u) => updates.push(u), finish() {} },
    });
    t = 2000;
    p.tick(1, { loss: 2.5 });
    expect(updates[updates.length - 1]).toMatchObject({ done: 1, total: 4, unit: "steps", loss: 2.5, eta_s: 6 });
    p.stop();
  });
});
