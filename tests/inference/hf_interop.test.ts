// The exported Hugging Face directory read by the Python packages people use: `tokenizers` gives our ids on the same
// texts, `safetensors` reads every tensor, each equal bit for bit to ours (renamed; Conv1D matrices transposed), no
// optimizer state. The pinned environment comes from tools/setup (found by @nexa_pyenv); missing, the test fails
// with the fix.

import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync } from "fs";
import os from "os";
import * as path from "path";

import { Tokenizer } from "@nexa/kernels/binding";

const runfiles = process.env.RUNFILES_DIR ?? process.env.TEST_SRCDIR ?? "";
const root = path.join(runfiles, process.env.TEST_WORKSPACE ?? "nexacompute");
const NEXA = path.join(root, "modules/cli/nexa.sh");
const CHECKPOINT = path.join(root, "tests/inference/model");
const pyenv = JSON.parse(readFileSync(path.join(runfiles, "nexa_pyenv/pyenv.json"), "utf8")) as {
  python: string;
  error: string;
};

const TEXTS = [
  "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse,",
  "  whale-ship  \n\n\tPequod’s 1851 “Moby-Dick”!  ",
  "naïve café — ünïcödé 🐋 <|endoftext|> the end",
  "",
];

test("tokenizers gives our ids and safetensors reads our weights, exactly", () => {
  expect(pyenv.error).toBe("");
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), "hf-")), "model");
  execFileSync(NEXA, ["export", "hf", CHECKPOINT, out], { env: { ...process.env, RUNFILES_DIR: runfiles } });
  const tok = Tokenizer.load(readFileSync(path.join(CHECKPOINT, "tokenizer.json")), "hf_json");
  const texts = TEXTS.map((t) => [t, Array.from(tok.encode(t, { allowSpecial: true }))]);
  tok.free();
  const r = JSON.parse(
    execFileSync(pyenv.python, [path.join(root, "tests/inference/hf_interop.py")], {
      input: JSON.stringify({ export: out, checkpoint: CHECKPOINT, texts }),
      encoding: "utf8",
    }),
  );
  for (const t of r.texts) expect(t.theirs).toEqual(t.ours);
  expect(r.tensors).toHaveLength(4 + 12 * r.n_layer);
  expect(r.tensors.filter((t: { equal: boolean }) => !t.equal)).toEqual([]);
  expect(r.optimizer_state).toEqual([]);
});
