// The monitoring pieces together on a real log file: two loggers appending to one path (created with its
// directory), a child logger, progress events and a coded error with a cause; every line parses as JSON with the
// fields of nexa.v1.LogEvent, in the order written, and nothing host-specific.
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { ConfigError, createLogger, createProgress, formatError, toNexaError } from "./index";

describe("monitoring on a log file", () => {
  it("appends structured lines from several loggers, progress and errors to one file", () => {
    const file = path.join(
      mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "logs-")),
      "nested",
      "stage.log.jsonl",
    );
    const first = createLogger({ runId: "a".repeat(64), stage: "pack", stageId: "b".repeat(64), destination: file });
    first.info("stage_start", { shards: 2 }, "packing");
    const progress = createProgress({
      logger: first.child({ split: "train" }),
      label: "pack",
      total: 4,
      unit: "shards",
      tty: false,
      minIntervalMs: 0,
      now: () => 0,
    });
    for (let i = 0; i < 4; i++) progress.tick();
    progress.stop();
    const cause = new Error("ENOENT: no such file");
    const err = new ConfigError("PACK_INPUT", "the dataset manifest cannot be read", {
      context: { file: "dataset.json" },
      hint: "run the data stage",
      cause,
    });
    first.error("stage_failed", err);
    first.flush();
    // a second logger (another process would do the same) appends, never truncates
    const second = createLogger({ runId: "a".repeat(64), stage: "train", destination: file });
    second.warn("slow", { seconds: 3 });
    second.flush();

    const lines = readFileSync(file, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.event)).toEqual([
      "stage_start",
      "progress",
      "progress",
      "progress",
      "progress",
      "progress",
      "stage_failed",
      "slow",
    ]);
    for (const l of lines) {
      expect(l).toMatchObject({ run_id: "a".repeat(64) });
      expect(typeof l.time).toBe("number");
      expect([30, 40, 50]).toContain(l.level);
      expect(l).not.toHaveProperty("pid");
      expect(l).not.toHaveProperty("hostname");
    }
    expect(lines[0]).toMatchObject({ stage: "pack", stage_id: "b".repeat(64), shards: 2, msg: "packing", level: 30 });
    // progress: the start (0 of 4), then every tick (minIntervalMs 0), all with the child logger's binding
    expect(lines.slice(1, 6).map((l) => [l.split, l.done, l.total, l.fraction])).toEqual(
      [0, 1, 2, 3, 4].map((d) => ["train", d, 4, d / 4]),
    );
    const failed = lines[6] as {
      error_code: string;
      error: { code: string; hint: string; context: Record<string, string> };
      level: number;
    };
    expect(failed.level).toBe(50);
    expect(failed.error_code).toBe("PACK_INPUT");
    expect(failed.error).toMatchObject({
      code: "PACK_INPUT",
      hint: "run the data stage",
      context: { file: "dataset.json" },
    });
    expect(JSON.stringify(failed.error)).toContain("ENOENT");
    expect(lines[7]).toMatchObject({ stage: "train", seconds: 3, level: 40 });
    // the operator's form of the same error, and an unknown error wrapped with a code
    expect(formatError(err)).toBe(
      "[PACK_INPUT] dataset.json: the dataset manifest cannot be read\n  hint: run the data stage\n  caused by: Error: ENOENT: no such file",
    );
    expect(toNexaError(new TypeError("boom"), { file: "x" }).code).toMatch(/^[A-Z_]+$/);
  });
});
