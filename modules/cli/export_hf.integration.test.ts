// `nexa export hf`: a checkpoint from the fixture pack and train stages exported to the Hugging Face GPT-2 layout;
// bad input exits 3 and writes nothing, a missing argument exits 2.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "fs";
import * as path from "path";

import { corpus, fakeCheckpoint } from "@nexa/modules/stage/testing/upstream";
import { stageWorkspace } from "@nexa/modules/stage/testing/workspace";

import { nexa } from "./testing/nexa";

const TRAIN = corpus(40, 1, { words: { min: 3, spread: 8 } });

async function trainedCheckpoint(): Promise<string> {
  const w = stageWorkspace("export-hf-");
  await fakeCheckpoint(w, "train", { texts: TRAIN, seqLen: 16, vocabSize: 280, seed: 5, steps: 3 });
  return w.dir;
}

describe("nexa export hf", () => {
  it("exports a trained checkpoint directory, the same bytes each time", async () => {
    const dir = await trainedCheckpoint();
    const out = path.join(dir, "hf");
    const r = await nexa(["export", "hf", path.join(dir, "train"), out]);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toMatch(/^sha256:[0-9a-f]{64} -> /);
    // the files it prints, one a line under the digest, are the directory's
    const listed = r.out
      .split("\n")
      .slice(1, -1)
      .map((l) => l.trim());
    expect(listed).toHaveLength(6);
    expect(readdirSync(out).sort()).toEqual([...listed].sort());
    const config = JSON.parse(readFileSync(path.join(out, "config.json"), "utf8"));
    expect(config).toMatchObject({ model_type: "gpt2", n_positions: 16, n_layer: 1, n_head: 2, n_embd: 16 });
    const st = readFileSync(path.join(out, "model.safetensors"));
    const header = JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString("utf8"));
    expect(Object.keys(header).filter((k) => k.includes("optimizer"))).toEqual([]);
    expect(header["transformer.h.0.attn.c_attn.weight"]).toMatchObject({ dtype: "F32", shape: [16, 48] });
    expect(readFileSync(path.join(out, "README.md"), "utf8")).toContain("stage `train`");

    const again = path.join(dir, "hf2");
    expect((await nexa(["export", "hf", path.join(dir, "train"), again])).code).toBe(0);
    for (const f of readdirSync(out)) {
      expect(readFileSync(path.join(again, f)).equals(readFileSync(path.join(out, f)))).toBe(true);
    }
  });

  it("exits 3 on a missing or non-checkpoint directory and a non-empty target, and 2 without arguments", async () => {
    const dir = await trainedCheckpoint();
    const missing = await nexa(["export", "hf", path.join(dir, "nope"), path.join(dir, "a")]);
    expect(missing.code).toBe(3);
    expect(missing.err).toMatch(/HF_EXPORT_NOT_CHECKPOINT/);
    expect(missing.err).toMatch(/does not exist/);
    const notCkpt = await nexa(["export", "hf", path.join(dir, "train_pack"), path.join(dir, "b")]);
    expect(notCkpt.code).toBe(3);
    expect(notCkpt.err).toMatch(/not a checkpoint directory/);
    const target = path.join(dir, "full");
    mkdirSync(target);
    writeFileSync(path.join(target, "x"), "");
    const full = await nexa(["export", "hf", path.join(dir, "train"), target]);
    expect(full.code).toBe(3);
    expect(full.err).toMatch(/HF_EXPORT_TARGET/);
    expect(readdirSync(target)).toEqual(["x"]);
    expect(existsSync(path.join(dir, "a")) || existsSync(path.join(dir, "b"))).toBe(false);
    expect(readdirSync(dir).some((n) => n.includes(".tmp-"))).toBe(false);
    const digest = await nexa(["export", "hf", `sha256:${"a".repeat(64)}`, path.join(dir, "c")]);
    expect(digest.code).toBe(3);
    expect(digest.err).toMatch(/CLI_EXPORT_DIGEST/);
    expect((await nexa(["export", "hf"])).code).toBe(2);
  });
});
