// `bazel run -c opt //benchmarks/inference:hf_parity [-- --checkpoint DIR] [--json]`: does `transformers` compute what
// we compute on our export? The checkpoint (default //tests/inference:model) is exported with the real `nexa export
// hf`, loaded as transformers.GPT2LMHeadModel (float32, eval, CPU) in the pinned torch environment (torch_env.ts), and
// compared with the kernels on one sentence of the golden corpus:
//   tokenizer   the exported tokenizer.json (transformers' fast tokenizer) gives our ids of the sentence
//   logits      max |logit difference| over every position and token: must be <= 1e-4
//   greedy      32 new tokens, transformers generate(do_sample=False, use_cache=True) vs our generate at
//               temperature 0, both ending at end-of-text: must be equal token for token
// Prints the figures, then one JSON line; exits 1 when a check fails.

import { mkdtempSync, writeFileSync } from "fs";
import os from "os";
import * as path from "path";

import { loadCheckpoint, openCheckpointDir } from "@nexa/modules/checkpoint";

import { ensureTorchEnv, exportHf, runfile, runPythonJson, userPath } from "./torch_env";

const PROMPT =
  "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, and " +
  "nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of " +
  "the world.";
const MAX_NEW_TOKENS = 32;
const LOGIT_TOLERANCE = 1e-4;

interface Theirs {
  torch: string;
  transformers: string;
  tokenizer_ids: number[];
  max_abs_logit_diff: number;
  worst_position: number;
  worst_token: number;
  logit_scale: number;
  argmax_agree: number;
  positions: number;
  generated: number[];
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const say = (line: string) => {
    if (!json) process.stdout.write(line + "\n");
  };
  const given = flag(argv, "--checkpoint");
  const checkpointDir = given ? userPath(given) : runfile("tests/inference/model");

  const env = ensureTorchEnv(undefined, (l) => process.stderr.write(`[hf_parity] ${l}\n`));
  const exported = exportHf(checkpointDir);

  // ours: the kernels through the binding, in process
  const loaded = await loadCheckpoint(await openCheckpointDir(checkpointDir), { threads: 1 });
  const ids = loaded.tokenizer.encode(PROMPT);
  const t = ids.length;
  const logits = loaded.model.forward({ tokens: ids, docIds: new Uint32Array(t), b: 1, t });
  const logitsFile = path.join(mkdtempSync(path.join(os.tmpdir(), "nexa-logits-")), "logits.f32");
  writeFileSync(logitsFile, new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
  // both sides continue by the same number of tokens, within the context (a long prompt leaves fewer)
  const maxNewTokens = Math.min(MAX_NEW_TOKENS, loaded.model.info().config.seqLen - t);
  if (maxNewTokens < 1) {
    throw new Error(
      `the prompt is ${t} tokens, the checkpoint's context ${t + maxNewTokens}: nothing left to generate`,
    );
  }
  const ours = loaded.model.generate(ids, { maxNewTokens, temperature: 0, stopTokens: [loaded.eosId] });
  const eosId = loaded.eosId;
  loaded.free();

  // theirs: transformers on the export
  const theirs = runPythonJson<Theirs>(env.python, runfile("benchmarks/inference/hf_parity.py"), {
    export: exported,
    prompt: PROMPT,
    ids: Array.from(ids),
    logits: logitsFile,
    max_new_tokens: maxNewTokens,
    threads: 1,
  });
  // transformers keeps the end-of-text token it stopped at; our generate ends before it
  const theirTokens = theirs.generated.at(-1) === eosId ? theirs.generated.slice(0, -1) : theirs.generated;
  const ourTokens = Array.from(ours.tokens);
  const firstDiff = ourTokens.findIndex((id, i) => id !== theirTokens[i]);

  const checks = {
    tokenizer_ids_equal: JSON.stringify(theirs.tokenizer_ids) === JSON.stringify(Array.from(ids)),
    logits_within_tolerance: theirs.max_abs_logit_diff <= LOGIT_TOLERANCE,
    greedy_equal: ourTokens.length === theirTokens.length && firstDiff < 0,
  };
  const result = {
    benchmark: "hf_parity",
    checkpoint: checkpointDir,
    torch: theirs.torch,
    transformers: theirs.transformers,
    torch_env: { dir: env.dir, created: env.created, create_seconds: Number(env.createSeconds.toFixed(1)) },
    prompt_tokens: t,
    positions_compared: theirs.positions,
    max_abs_logit_diff: theirs.max_abs_logit_diff,
    logit_tolerance: LOGIT_TOLERANCE,
    max_abs_logit: theirs.logit_scale,
    argmax_agree: `${theirs.argmax_agree}/${theirs.positions}`,
    greedy_new_tokens: { ours: ourTokens.length, transformers: theirTokens.length, first_difference: firstDiff },
    ours_stop: ours.stop,
    ...checks,
    pass: Object.values(checks).every(Boolean),
  };

  say(`checkpoint        ${checkpointDir}`);
  say(`exported to       ${exported}`);
  say(`torch ${theirs.torch}, transformers ${theirs.transformers} (CPU, float32, 1 thread)`);
  say(`prompt            ${t} tokens; exported tokenizer.json gives the same ids: ${checks.tokenizer_ids_equal}`);
  say(
    `logits            max |ours - transformers| = ${theirs.max_abs_logit_diff.toExponential(3)} over ` +
      `${theirs.positions} positions x ${logits.length / t} tokens (at position ${theirs.worst_position}, token ` +
      `${theirs.worst_token}; largest |logit| ${theirs.logit_scale.toFixed(3)}; tolerance ${LOGIT_TOLERANCE}); ` +
      `argmax agrees at ${result.argmax_agree}`,
  );
  say(`greedy ours       ${ourTokens.join(" ")} (${ours.stop})`);
  say(`greedy theirs     ${theirTokens.join(" ")}`);
  say(`greedy equal      ${checks.greedy_equal} (${ourTokens.length} vs ${theirTokens.length} new tokens)`);
  say(result.pass ? "PASS" : "FAIL");
  process.stdout.write(JSON.stringify(result) + "\n");
  return result.pass ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`hf_parity: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  },
);
