import { NexaError } from "@nexa/modules/monitoring";

import { parseStageArgs } from "./args";

const base = ["--stage=data", "--module=modules/data", "--config=c.json", "--out=o", "--log=l.jsonl"];

describe("parseStageArgs", () => {
  it("parses an unsharded run with inputs and raw files", () => {
    const a = parseStageArgs([
      "run",
      ...base,
      "--manifest=m.json",
      "--raw=a.txt",
      "--raw=b.txt",
      "--input=dataset=up/m.json:up/data",
    ]);
    expect(a).toMatchObject({
      command: "run",
      stage: "data",
      raw: ["a.txt", "b.txt"],
      inputs: [{ slot: "dataset", manifest: "up/m.json", dataDir: "up/data" }],
      shard: 0,
      numShards: 1,
      manifest: "m.json",
    });
  });

  it("parses a shard run and a merge", () => {
    expect(parseStageArgs(["run", ...base, "--shard=2", "--num-shards=4"])).toMatchObject({ shard: 2, numShards: 4 });
    expect(parseStageArgs(["merge", ...base, "--manifest=m", "--shard-dir=s0", "--shard-dir=s1"]).shardDirs).toEqual([
      "s0",
      "s1",
    ]);
  });

  it.each([
    [["build", ...base], /unknown command "build"/],
    [["run", ...base, "--manifest=m", "--colour=red"], /unknown flag --colour/],
    [["run", ...base, "--manifest=m", "--stage=again"], /--stage given more than once/],
    [["run", "--module=m", "--config=c", "--out=o", "--log=l", "--manifest=m"], /--stage is required/],
    [["run", ...base, "--shard=4", "--num-shards=4"], /--shard=4 is not in \[0, --num-shards=4\)/],
    [["run", ...base, "--manifest=m", "--input=dataset"], /--input=dataset is not SLOT=MANIFEST:DATA_DIR/],
    [["run", ...base], /an unsharded run needs --manifest/],
    [["merge", ...base, "--manifest=m"], /merge needs at least one --shard-dir/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseStageArgs(argv as string[])).toThrow(message);
    try {
      parseStageArgs(argv as string[]);
    } catch (e) {
      expect((e as NexaError).code).toBe("CONFIG_BAD_ARGUMENT");
      expect((e as NexaError).hint).toMatch(/^usage:/);
    }
  });
});
