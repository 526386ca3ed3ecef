import { Writable } from "stream";

import { ConfigError, createLogger, createProgress } from "./index";

/** A stream collecting written lines. */
function collect(): { stream: Writable; text: () => string; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    stream,
    text: () => chunks.join(""),
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l)),
  };
}

describe("createLogger", () => {
  it("every line carries run_id, stage and event, and no pid/hostname", () => {
    const out = collect();
    const log = createLogger({ runId: "r1", stage: "pack", stageId: "s1", destination: out.stream });
    log.info("shard_written", { shard: 2 }, "wrote shard");
    log.child({ shard: 3 }).warn("slow_shard");
    log.debug("hidden"); // below the default level
    const lines = out.lines();
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.run_id).toBe("r1");
      expect(line.stage).toBe("pack");
      expect(line.stage_id).toBe("s1");
      expect(typeof line.event).toBe("string");
      expect(line.pid).toBeUndefined();
      expect(line.hostname).toBeUndefined();
    }
    expect(lines[0]).toMatchObject({ event: "shard_written", shard: 2, msg: "wrote shard", level: 30 });
    expect(lines[1]).toMatchObject({ event: "slow_shard", shard: 3, level: 40 });
  });

  it("a child that binds run_id again writes each key once, with the child's value", () => {
    const out = collect();
    const log = createLogger({ runId: "", stage: "publish", destination: out.stream });
    const child = log.child({ run_id: "r9", invocation_id: "i1" }).child({ stage_name: "data" });
    child.info("stage_published");
    child.error("publish_failed", new Error("boom"));
    const text = out.text().trim().split("\n");
    expect(text).toHaveLength(2);
    for (const line of text) {
      expect(line.match(/"run_id":/g)).toHaveLength(1);
      expect(line.match(/"stage":/g)).toHaveLength(1);
      expect(JSON.parse(line)).toMatchObject({
        run_id: "r9",
        stage: "publish",
        invocation_id: "i1",
        stage_name: "data",
      });
    }
  });

  it("serializes NexaErrors with code, context and hint", () => {
    const out = collect();
    const log = createLogger({ runId: "r1", stage: "train", destination: out.stream });
    const err = new ConfigError("CONFIG_UNKNOWN_FIELD", "unknown field", {
      context: { file: "train.json", jsonPath: "$.foo" },
      hint: "remove the field",
    });
    log.error("stage_failed", err);
    const [line] = out.lines();
    expect(line).toMatchObject({ event: "stage_failed", error_code: "CONFIG_UNKNOWN_FIELD", level: 50 });
    expect(line.msg).toBe("train.json: $.foo: unknown field");
    expect((line.error as { hint: string }).hint).toBe("remove the field");
  });
});

describe("createProgress", () => {
  it("emits JSON progress events when not on a TTY, rate-limited, first and last always", () => {
    const out = collect();
    const log = createLogger({ runId: "r1", stage: "pack", destination: out.stream });
    let t = 0;
    const progress = createProgress({
      logger: log,
      label: "tokenize",
      total: 10,
      tty: false,
      minIntervalMs: 100,
      now: () => t,
    });
    for (let i = 0; i < 10; i++) {
      t += 30;
      progress.tick();
    }
    progress.stop();
    progress.stop();
    const events = out.lines().map((l) => l as { event: string; done: number; fraction: number });
    expect(events.every((e) => e.event === "progress")).toBe(true);
    expect(events[0].done).toBe(0);
    expect(events[events.length - 1]).toMatchObject({ done: 10, fraction: 1 });
    expect(events.length).toBeLessThan(8);
    expect(events.filter((e) => e.done === 10)).toHaveLength(1);
  });

  it("draws a bar on a TTY", () => {
    const out = collect();
    const stream = Object.assign(out.stream, {
      isTTY: true,
      columns: 80,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
    }) as unknown as NodeJS.WriteStream;
    const log = createLogger({ runId: "r1", stage: "pack", destination: collect().stream });
    const progress = createProgress({ logger: log, label: "pack", total: 4, stream });
    progress.update(4);
    progress.stop();
    // cli-progress renders frames into the stream: label, bar and percentage, no JSON.
    expect(out.text()).toContain("pack [");
    expect(out.text()).toContain("100%");
  });
});
