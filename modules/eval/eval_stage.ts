// The eval stage (pipelines/stages.bzl `eval_stage`): a student checkpoint (slot `checkpoint`), an optional
// teacher checkpoint (slot `teacher`) and a packed dataset (slot `packed`) scored against an EvalRubric (config)
// → report.json (nexa.v1.EvalReport, the product), report.html and metrics.json. See README.md for the steps.
//
// The stage succeeds whether the rubric passes or not: the report's `passed` is the verdict and the pipeline
// decides the exit code. (Its bundle is stage.js, so this file is not called stage.ts: see BUILD.bazel.)

import { writeFile } from "fs/promises";
import { availableParallelism } from "os";
import * as path from "path";

import { ABI_VERSION, libraryPath, Model, Tokenizer } from "@nexa/kernels/binding";
import { canonicalJson, CONTRACTS, digestBytes, digestFile, encodeMessage, encodeMessageBytes } from "@nexa/modules/manifest";
import { ConfigError, IntegrityError } from "@nexa/modules/monitoring";
import type { StageContext, StageDefinition, StageResult } from "@nexa/modules/stage";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { EvalReport, EvalRubric } from "@nexa/proto/nexa/v1/eval";

import { readCheckpoint } from "./checkpoint_input";
import type { CheckpointData } from "./checkpoint_input";
import { renderReportHtml } from "./html_report";
import { countIds, tokenByteLengths, totalBytes, unigramNats } from "./measures";
import { availableMetrics, computeMetrics } from "./metrics";
import { readBin, readPacked, splitBins } from "./packed_input";
import type { PackedData } from "./packed_input";
import { checkRubric, evaluateRubric } from "./rubric";
import { ValidationScorer } from "./scoring";

export const REPORT_FILE = "report.json";
export const REPORT_HTML_FILE = "report.html";
export const METRICS_FILE = "metrics.json";
export const EVAL_SPLIT = "validation";
export const BASELINE_SPLIT = "train";

// ----------------------------------------------------------------------------------------------------------
// checks across inputs

/** Every checkpoint must expect the tokenizer the data was packed with (same TokenizerManifest digest). */
function checkTokenizers(ctx: StageContext<EvalRubric>, packed: PackedData, student: CheckpointData, teacher?: CheckpointData): void {
  const want = packed.tokenizerRef.digest;
  const studentTok = student.product.message.tokenizer!.digest;
  if (teacher && teacher.product.message.tokenizer!.digest !== studentTok) {
    const teacherTok = teacher.product.message.tokenizer!.digest;
    throw new ConfigError("EVAL_TOKENIZER_MISMATCH",
      `student and teacher use different tokenizers: student ${studentTok}, teacher ${teacherTok}`, {
        context: { file: teacher.product.display, jsonPath: "$.tokenizer.digest", stage: ctx.stage, student: studentTok, teacher: teacherTok },
        hint: "agreement needs one vocabulary: train the teacher and the student on data packed with the same tokenizer (pack `tokenizer_from`)",
      });
  }
  if (studentTok !== want) {
    throw new ConfigError("EVAL_TOKENIZER_MISMATCH",
      `the student expects tokenizer ${studentTok}, but the packed data uses ${want}`, {
        context: { file: student.product.display, jsonPath: "$.tokenizer.digest", stage: ctx.stage, checkpoint: studentTok, packed: want },
        hint: "wire the pack stage the checkpoint was trained on (or one reusing its tokenizer via `tokenizer_from`) into `packed`",
      });
  }
}

function loadModel(c: CheckpointData, packed: PackedData, stage: string): Model {
  const model = Model.load(c.weights, { threads: Math.max(1, Math.min(availableParallelism(), 8)) });
  const cfg = model.info().config;
  const vocab = packed.tokenizer.vocabSize;
  const seqLen = packed.product.message.seqLen;
  if (cfg.vocabSize < vocab || cfg.seqLen < seqLen) {
    model.free();
    throw new ConfigError("EVAL_MODEL_SHAPE",
      `the ${c.slot} model (vocab ${cfg.vocabSize}, context ${cfg.seqLen}) cannot score the packed data (vocab ${vocab}, seq_len ${seqLen})`, {
        context: { file: c.product.display, jsonPath: "$.model", stage },
        hint: "train the checkpoint with model.vocab_size >= the tokenizer's vocab_size and model.block_size >= the pack seq_len",
      });
  }
  return model;
}

// ----------------------------------------------------------------------------------------------------------
// passes over the packed data

/** Scores the validation bins in manifest order, at most `maxBins` (0 = all). */
async function scoreValidation(packed: PackedData, scorer: ValidationScorer, maxBins: number, stage: string): Promise<void> {
  const bins = splitBins(packed, EVAL_SPLIT);
  if (bins.length === 0) {
    throw new ConfigError("EVAL_NO_VALIDATION", `the packed dataset has no "${EVAL_SPLIT}" bins`, {
      context: { file: packed.product.display, jsonPath: "$.bins", stage },
      hint: `pack the "${EVAL_SPLIT}" split too (PackConfig.splits: ["train", "${EVAL_SPLIT}"])`,
    });
  }
  for (const entry of bins) {
    const remaining = maxBins > 0 ? maxBins - scorer.bins : Infinity;
    if (remaining <= 0) break;
    const rows = await readBin(packed, entry);
    scorer.add(rows.tokens, rows.docIds, Math.min(rows.bins, remaining), rows.seqLen);
  }
}

/** Counts of the train split's non-padding tokens (padding positions carry pad_id; the manifest counts them). */
async function trainTokenCounts(packed: PackedData, stage: string): Promise<BigUint64Array> {
  const bins = splitBins(packed, BASELINE_SPLIT);
  if (bins.length === 0) {
    throw new ConfigError("EVAL_NO_TRAIN_SPLIT", `the unigram baseline is fitted on the "${BASELINE_SPLIT}" bins, which the packed dataset lacks`, {
      context: { file: packed.product.display, jsonPath: "$.bins", stage },
      hint: `pack the "${BASELINE_SPLIT}" split too (PackConfig.splits: ["${BASELINE_SPLIT}", "${EVAL_SPLIT}"])`,
    });
  }
  const m = packed.product.message;
  const counts = new BigUint64Array(packed.tokenizer.vocabSize);
  for (const entry of bins) {
    const rows = await readBin(packed, entry);
    countIds(rows.tokens, counts.length, counts);
    const padding = BigInt(rows.bins * rows.seqLen - entry.bin.tokenCount);
    if (padding < 0n || counts[m.padId] < padding) {
      throw new IntegrityError("EVAL_PADDING_COUNT",
        `${entry.bin.file!.path}: token_count ${entry.bin.tokenCount} does not fit ${rows.bins} bins of ${rows.seqLen} with pad id ${m.padId}`, {
          context: { file: packed.product.display, jsonPath: `$.bins[${entry.index}].tokenCount` }, hint: "re-run the pack stage",
        });
    }
    counts[m.padId] -= padding;
  }
  return counts;
}

// ----------------------------------------------------------------------------------------------------------
// run

async function runEval(ctx: StageContext<EvalRubric>): Promise<StageResult> {
  const rubric = ctx.config;
  const where = { file: ctx.configFile, stage: ctx.stage };
  if (ctx.shard.count > 1) {
    throw new ConfigError("EVAL_NOT_SHARDABLE", `the eval stage runs as one action (got num_shards = ${ctx.shard.count})`, {
      context: where, hint: "set num_shards = 1 on the eval_stage target",
    });
  }
  const hasTeacher = ctx.inputs.some((i) => i.slot === "teacher");
  checkRubric(rubric, availableMetrics(hasTeacher), ctx.configFile); // fail before any model math

  const packed = await readPacked(ctx.input("packed"), ctx.stage);
  const student = await readCheckpoint(ctx.input("checkpoint"), ctx.stage);
  const teacher = hasTeacher ? await readCheckpoint(ctx.input("teacher"), ctx.stage) : undefined;
  checkTokenizers(ctx, packed, student, teacher);

  const vocab = packed.tokenizer.vocabSize;
  const tokenizer = Tokenizer.load(packed.tokenizerJson, "hf_json");
  const models: Model[] = [];
  try {
    if (tokenizer.vocabSize !== vocab) {
      throw new IntegrityError("EVAL_TOKENIZER_VOCAB", `tokenizer.json has ${tokenizer.vocabSize} ids, its manifest says ${vocab}`, {
        context: { file: packed.product.display, jsonPath: "$.tokenizer" }, hint: "re-run the pack stage",
      });
    }
    const byteLengths = tokenByteLengths(tokenizer, vocab, packed.tokenizer.specialTokens.map((s) => s.id));
    const studentModel = loadModel(student, packed, ctx.stage);
    models.push(studentModel);
    const teacherModel = teacher ? loadModel(teacher, packed, ctx.stage) : undefined;
    if (teacherModel) models.push(teacherModel);

    const scorer = new ValidationScorer(studentModel, teacherModel, vocab);
    await scoreValidation(packed, scorer, rubric.maxExamples, ctx.stage);
    const tokens = scorer.positions();
    const bytes = totalBytes(scorer.targetCounts, byteLengths);
    const baselineNats = unigramNats(await trainTokenCounts(packed, ctx.stage), scorer.targetCounts);
    ctx.log.info("scored", { bins: scorer.bins, tokens, bytes, teacher: hasTeacher, kernel_variant: studentModel.variant() });

    const metrics = computeMetrics({
      student: scorer.student, teacher: scorer.teacher, agreements: teacher ? scorer.agreements : undefined,
      baselineNats, tokens, bytes, examples: scorer.bins, where: { file: packed.product.display, stage: ctx.stage },
    });
    const outcome = evaluateRubric(rubric, metrics, ctx.configFile);
    await writeReport(ctx, { packed, student, teacher, metrics, outcome, examples: scorer.bins });
    ctx.log.info("rubric", { rubric: rubric.name, revision: rubric.revision, passed: outcome.passed,
      failed_required: outcome.results.filter((r) => r.required && !r.passed).map((r) => r.metric).join(",") });

    const key = ["student.loss", "student.bits_per_byte", "baseline.bits_per_byte", "student.bpb_gain_vs_baseline", "agreement.top1"];
    const summary: Record<string, number> = { passed: outcome.passed ? 1 : 0 };
    for (const k of key) if (k in metrics) summary[k] = metrics[k];
    return { product: { file: REPORT_FILE, schema: CONTRACTS.EvalReport.name }, metrics: summary };
  } finally {
    for (const m of models) m.free();
    tokenizer.free();
  }
}

interface ReportParts {
  packed: PackedData;
  student: CheckpointData;
  teacher?: CheckpointData;
  metrics: Record<string, number>;
  outcome: ReturnType<typeof evaluateRubric>;
  examples: number;
}

/** Writes report.html, metrics.json and report.json (the product) into ctx.outDir. */
async function writeReport(ctx: StageContext<EvalRubric>, p: ReportParts): Promise<void> {
  const view = (c: CheckpointData) => ({ stage: c.product.message.producer?.stageName ?? c.slot, digest: c.product.ref.digest, curve: c.curve });
  const html = renderReportHtml({
    rubric: ctx.config, outcome: p.outcome, metrics: p.metrics, student: view(p.student),
    teacher: p.teacher ? view(p.teacher) : undefined, datasetDigest: p.packed.product.ref.digest, exampleCount: p.examples,
  });
  await writeFile(path.join(ctx.outDir, REPORT_HTML_FILE), html);
  await writeFile(path.join(ctx.outDir, METRICS_FILE), canonicalJson(p.metrics));
  const report = EvalReport.fromPartial({
    schemaVersion: 1,
    rubric: {
      digest: ctx.configDigest, sizeBytes: encodeMessageBytes(EvalRubric, ctx.config).length,
      mediaType: "application/json", schemaName: CONTRACTS.EvalRubric.name,
    },
    checkpoint: p.student.product.ref,
    dataset: p.packed.product.ref,
    results: p.outcome.results,
    passed: p.outcome.passed,
    exampleCount: p.examples,
    htmlReport: ArtifactRef.fromPartial({
      digest: digestBytes(html), sizeBytes: Buffer.byteLength(html), mediaType: "text/html", path: REPORT_HTML_FILE,
    }),
    producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
  });
  await writeFile(path.join(ctx.outDir, REPORT_FILE), encodeMessage(EvalReport, report));
}

/** The eval stage definition (entry point: main.ts). Not shardable: one action per stage. */
export const evalStage: StageDefinition<EvalRubric> = {
  module: "modules/eval",
  config: CONTRACTS.EvalRubric,
  // The kernels do the model math and tokenizer decoding, so their bytes are part of the stage's identity.
  tools: async () => [{ name: "nexa_kernels", version: `abi ${ABI_VERSION}`, digest: (await digestFile(libraryPath())).digest }],
  run: runEval,
};
