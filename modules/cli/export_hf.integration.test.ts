// `nexa export hf`: a checkpoint from the fixture pack and train stages exported to the Hugging Face GPT-2 layout,
// from its directory or out of a registry (run id, RUN:STAGE, checkpoint digest); bad input exits 3 and writes
// nothing, a missing argument exits 2.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { readManifest, CONTRACTS } from "@nexa/modules/manifest";
import { LocalStore } from "@nexa/modules/registry";
import { corpus, fakeCheckpoint } from "@nexa/modules/stage/testing/upstream";
import { stageWorkspace } from "@nexa/modules/stage/testing/workspace";

import { publishPipeline } from "./publish";
import { nexa, workspacePlan } from "./testing/nexa";

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
    const home = mkdtempSync(path.join(tmpdir(), "export-home-"));
    const digest = await nexa(["export", "hf", `sha256:${"a".repeat(64)}`, path.join(dir, "c")], { NEXA_HOME: home });
    expect(digest.code).toBe(3);
    expect(digest.err).toMatch(/REGISTRY_UNKNOWN_PRODUCT/);
    const word = await nexa(["export", "hf", "no-such-thing", path.join(dir, "c")], { NEXA_HOME: home });
    expect(word.code).toBe(3);
    expect(word.err).toMatch(/REGISTRY_NOT_FOUND\] no-such-thing is not a directory, a run id or a CheckpointManifest/);
    expect((await nexa(["export", "hf"])).code).toBe(2);
  });
});

describe("nexa export hf out of a registry", () => {
  /** Two trained checkpoints (stages a and b) published as one run. */
  async function published(): Promise<{ dir: string; home: string; runId: string }> {
    const w = stageWorkspace("export-reg-");
    await fakeCheckpoint(w, "a", { texts: TRAIN, seqLen: 16, vocabSize: 280, seed: 5, steps: 3 });
    await fakeCheckpoint(w, "b", { texts: TRAIN, seqLen: 16, vocabSize: 280, seed: 6, steps: 3 });
    const home = mkdtempSync(path.join(tmpdir(), "export-home-"));
    const plan = { ...workspacePlan("//pipelines:two_models", ["a_pack", "a", "b_pack", "b"]), reportStage: "" };
    const { runId } = await publishPipeline(plan, { root: w.dir, home });
    return { dir: w.dir, home, runId };
  }
  const productDigest = (dir: string, stage: string): string =>
    readManifest(CONTRACTS.StageManifest, path.join(dir, `${stage}.manifest.json`)).outputs.find(
      (o) => o.schemaName === CONTRACTS.CheckpointManifest.name,
    )!.digest;

  it("checks a run's checkpoint out of the registry: RUN:STAGE or the digest gives the directory's export", async () => {
    const { dir, home, runId } = await published();
    const env = { NEXA_HOME: home };
    const fromDir = path.join(dir, "hf-dir");
    expect((await nexa(["export", "hf", path.join(dir, "b"), fromDir])).code).toBe(0);

    // two models in the run: the run id alone is ambiguous, and the error names both choices
    const ambiguous = await nexa(["export", "hf", runId.slice(0, 12), path.join(dir, "x")], env);
    expect(ambiguous.code).toBe(3);
    expect(ambiguous.err).toMatch(/REGISTRY_AMBIGUOUS_PRODUCT/);
    expect(ambiguous.err).toContain(`${runId.slice(0, 12)}:a, ${runId.slice(0, 12)}:b`);
    const wrongStage = await nexa(["export", "hf", `${runId.slice(0, 12)}:b_pack`, path.join(dir, "x")], env);
    expect(wrongStage.code).toBe(3);
    expect(wrongStage.err).toMatch(/REGISTRY_UNKNOWN_STAGE/);
    expect(existsSync(path.join(dir, "x"))).toBe(false);

    const byRun = path.join(dir, "hf-run");
    const r = await nexa(["export", "hf", `${runId.slice(0, 12)}:b`, byRun], env);
    expect(r).toMatchObject({ code: 0, err: "" });
    const byDigest = path.join(dir, "hf-digest");
    expect((await nexa(["export", "hf", productDigest(dir, "b"), byDigest], env)).code).toBe(0);
    for (const f of readdirSync(fromDir)) {
      const want = readFileSync(path.join(fromDir, f));
      if (f === "README.md") {
        // the model card of a checked-out checkpoint also names its run
        expect(readFileSync(path.join(byRun, f), "utf8")).toContain(`- run: \`${runId}\``);
        continue;
      }
      expect(readFileSync(path.join(byRun, f)).equals(want)).toBe(true);
      expect(readFileSync(path.join(byDigest, f)).equals(want)).toBe(true);
    }
    // one content-addressed checkout, reused
    expect(readdirSync(path.join(home, "checkouts"))).toEqual([productDigest(dir, "b").slice("sha256:".length)]);
  });

  it("refuses a corrupted blob and leaves no checkout behind", async () => {
    const { dir, home, runId } = await published();
    const store = new LocalStore(home);
    const weights = readManifest(CONTRACTS.StageManifest, path.join(dir, "a.manifest.json")).outputs.find(
      (o) => o.path === "model.safetensors",
    )!;
    const blob = store.blobPath(weights.digest);
    chmodSync(blob, 0o644);
    const bytes = readFileSync(blob);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(blob, bytes);
    const r = await nexa(["export", "hf", `${runId}:a`, path.join(dir, "hf")], { NEXA_HOME: home });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/INTEGRITY_DIGEST/);
    expect(existsSync(path.join(dir, "hf"))).toBe(false);
    expect(readdirSync(path.join(home, "checkouts"))).toEqual([]);
  });
});
