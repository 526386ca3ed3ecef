// The eval stage (pipelines/stages.bzl `eval_stage`): a student checkpoint (slot `checkpoint`), an optional
// teacher checkpoint (slot `teacher`), an optional undistilled student (slot `undistilled`: the student's model
// trained on raw text) and a packed dataset (slot `packed`) scored against an EvalRubric (config) → report.json
// (nexa.v1.EvalReport, the product), report.html and metrics.json. See README.md for the steps.
//
// The stage succeeds whether the rubric passes or not: the report's `passed` is the verdict and the pipeline
// decides the exit code.

import { writeFile } from "fs/promises";
import * as path from "path";

import { Model, nextTokenTargets, Tokenizer } from "@nexa/kernels/binding";
import { Checkpoint } from "@nexa/modules/checkpoint";
import type { CurvePoint } from "@nexa/modules/checkpoint";
import { canonicalJson, CONTRACTS, digestBytes, encodeMessage, encodeMessageBytes } from "@nexa/modules/manifest";
import { ConfigError, IntegrityError } from "@nexa/modules/monitoring";
import { PackedDataset } from "@nexa/modules/packed_shards";
import type { StageContext, StageDefinition, StageResult } from "@nexa/modules/stage";
import { openTokenizer, TOKENIZER_HF_FILE } from "@nexa/modules/tokenizer_files";
import type { TokenizerFiles } from "@nexa/modules/tokenizer_files";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { EvalReport, EvalRubric } from "@nexa/proto/nexa/v1/eval";

import { renderReportHtml } from "./html_report";
import {
  bigramNats,
  countIds,
  countPairs,
  fitBigram,
  lossSpikeRatio,
  tokenByteLengths,
  totalBytes,
  unigramNats,
} from "./measures";
import type { PairCounts } from "./measures";
import { availableMetrics, computeMetrics } from "./metrics";
import { checkRubric, evaluateRubric } from "./rubric";
import { ValidationScorer } from "./scoring";

export const REPORT_FILE = "report.json";
export const REPORT_HTML_FILE = "report.html";
/** The flat metric table beside the report (metric name -> value). */
export const EVAL_METRICS_FILE = "metrics.json";
export const EVAL_SPLIT = "validation";
export const BASELINE_SPLIT = "train";

/** A checkpoint input: the opened directory, its verified weights and training curve. */
interface CheckpointData {
  slot: string;
  checkpoint: Checkpoint;
  weights: Buffer;
  curve: CurvePoint[];
}

/** The packed input with its tokenizer (the Hugging Face file decodes token byte lengths). */
interface PackedData {
  dataset: PackedDataset;
  tokenizer: TokenizerFiles;
}

async function openCheckpointInput(ctx: StageContext<EvalRubric>, slot: string): Promise<CheckpointData> {
  const checkpoint = new Checkpoint(await ctx.open(slot, CONTRACTS.CheckpointManifest));
  return { slot, checkpoint, weights: await checkpoint.weights(), curve: await checkpoint.curve() };
}

// ----------------------------------------------------------------------------------------------------------
// checks across inputs

/** Every checkpoint must expect the tokenizer the data was packed with (same TokenizerManifest digest). */
function checkTokenizers(
  ctx: StageContext<EvalRubric>,
  packed: PackedData,
  student: CheckpointData,
  teacher?: CheckpointData,
  undistilled?: CheckpointData,
): void {
  const want = packed.dataset.manifest.tokenizer!.digest;
  const studentTok = student.checkpoint.manifest.tokenizer!.digest;
  if (teacher && teacher.checkpoint.manifest.tokenizer!.digest !== studentTok) {
    const teacherTok = teacher.checkpoint.manifest.tokenizer!.digest;
    throw new ConfigError(
      "EVAL_TOKENIZER_MISMATCH",
      `student and teacher use different tokenizers: student ${studentTok}, teacher ${teacherTok}`,
      {
        context: {
          file: teacher.checkpoint.artifact.display,
          jsonPath: "$.tokenizer.digest",
          stage: ctx.stage,
          student: studentTok,
          teacher: teacherTok,
        },
        hint: "agreement needs one vocabulary: train the teacher and the student on data packed with the same tokenizer (pack `tokenizer_from`)",
      },
    );
  }
  if (studentTok !== want) {
    throw new ConfigError(
      "EVAL_TOKENIZER_MISMATCH",
      `the student expects tokenizer ${studentTok}, but the packed data uses ${want}`,
      {
        context: {
          file: student.checkpoint.artifact.display,
          jsonPath: "$.tokenizer.digest",
          stage: ctx.stage,
          checkpoint: studentTok,
          packed: want,
        },
        hint: "wire the pack stage the checkpoint was trained on (or one reusing its tokenizer via `tokenizer_from`) into `packed`",
      },
    );
  }
  if (undistilled && undistilled.checkpoint.manifest.tokenizer!.digest !== want) {
    const got = undistilled.checkpoint.manifest.tokenizer!.digest;
    throw new ConfigError(
      "EVAL_TOKENIZER_MISMATCH",
      `the undistilled student expects tokenizer ${got}, but the packed data uses ${want}`,
      {
        context: {
          file: undistilled.checkpoint.artifact.display,
          jsonPath: "$.tokenizer.digest",
          stage: ctx.stage,
          checkpoint: got,
          packed: want,
        },
        hint: "train the undistilled student on the packed data the eval scores (the teacher's pack stage)",
      },
    );
  }
}

function loadModel(c: CheckpointData, packed: PackedData, stage: string, threads: number): Model {
  const model = Model.load(c.weights, { threads });
  const cfg = model.info().config;
  const vocab = packed.tokenizer.manifest.vocabSize;
  const seqLen = packed.dataset.manifest.seqLen;
  if (cfg.vocabSize < vocab || cfg.seqLen < seqLen) {
    model.free();
    throw new ConfigError(
      "EVAL_MODEL_SHAPE",
      `the ${c.slot} model (vocab ${cfg.vocabSize}, context ${cfg.seqLen}) cannot score the packed data (vocab ${vocab}, seq_len ${seqLen})`,
      {
        context: { file: c.checkpoint.artifact.display, jsonPath: "$.model", stage },
        hint: "train the checkpoint with model.vocab_size >= the tokenizer's vocab_size and model.block_size >= the pack seq_len",
      },
    );
  }
  return model;
}

// ----------------------------------------------------------------------------------------------------------
// passes over the packed data

/** Scores the validation bins in manifest order, at most `maxBins` (0 = all). */
async function scoreValidation(
  packed: PackedData,
  scorer: ValidationScorer,
  maxBins: number,
  stage: string,
): Promise<void> {
  const bins = packed.dataset.splitBins(EVAL_SPLIT);
  if (bins.length === 0) {
    throw new ConfigError("EVAL_NO_VALIDATION", `the packed dataset has no "${EVAL_SPLIT}" bins`, {
      context: { file: packed.dataset.artifact.display, jsonPath: "$.bins", stage },
      hint: `pack the "${EVAL_SPLIT}" split too (PackConfig.splits: ["train", "${EVAL_SPLIT}"])`,
    });
  }
  for (const entry of bins) {
    const remaining = maxBins > 0 ? maxBins - scorer.bins : Infinity;
    if (remaining <= 0) break;
    const rows = await packed.dataset.readBin(entry);
    scorer.add(rows.tokens, rows.docIds, Math.min(rows.bins, remaining), rows.seqLen);
  }
}

/** What the baselines are fitted on: the train split's token counts (padding left out) and token pairs. */
interface TrainStatistics {
  counts: BigUint64Array;
  pairs: PairCounts;
}

/** Counts of the train split's non-padding tokens (padding positions carry pad_id; the manifest counts them) and of its (token, next token) pairs inside a document and row. */
async function trainStatistics(packed: PackedData, stage: string): Promise<TrainStatistics> {
  const bins = packed.dataset.splitBins(BASELINE_SPLIT);
  if (bins.length === 0) {
    throw new ConfigError(
      "EVAL_NO_TRAIN_SPLIT",
      `the unigram and bigram baselines are fitted on the "${BASELINE_SPLIT}" bins, which the packed dataset lacks`,
      {
        context: { file: packed.dataset.artifact.display, jsonPath: "$.bins", stage },
        hint: `pack the "${BASELINE_SPLIT}" split too (PackConfig.splits: ["${BASELINE_SPLIT}", "${EVAL_SPLIT}"])`,
      },
    );
  }
  const m = packed.dataset.manifest;
  const counts = new BigUint64Array(packed.tokenizer.manifest.vocabSize);
  const pairs: PairCounts = new Map();
  for (const entry of bins) {
    const rows = await packed.dataset.readBin(entry);
    const n = rows.bins * rows.seqLen;
    const tokens = rows.tokens.subarray(0, n);
    countIds(tokens, counts.length, counts);
    countPairs(tokens, nextTokenTargets(tokens, rows.docIds.subarray(0, n), rows.seqLen), counts.length, pairs);
    const padding = BigInt(n - entry.bin.tokenCount);
    if (padding < 0n || counts[m.padId] < padding) {
      throw new IntegrityError(
        "EVAL_PADDING_COUNT",
        `${entry.bin.file!.path}: token_count ${entry.bin.tokenCount} does not fit ${rows.bins} bins of ${rows.seqLen} with pad id ${m.padId}`,
        {
          context: { file: packed.dataset.artifact.display, jsonPath: `$.bins[${entry.index}].tokenCount` },
          hint: "re-run the pack stage",
        },
      );
    }
    counts[m.padId] -= padding;
  }
  return { counts, pairs };
}

// ----------------------------------------------------------------------------------------------------------
// run

async function runEval(ctx: StageContext<EvalRubric>): Promise<StageResult> {
  const rubric = ctx.config;
  const hasTeacher = ctx.inputs.some((i) => i.slot === "teacher");
  const hasUndistilled = ctx.inputs.some((i) => i.slot === "undistilled");
  checkRubric(rubric, availableMetrics({ teacher: hasTeacher, undistilled: hasUndistilled }), ctx.configFile); // fail before any model math

  const dataset = new PackedDataset(await ctx.open("packed", CONTRACTS.PackedDatasetManifest));
  const packed: PackedData = {
    dataset,
    tokenizer: await openTokenizer(dataset.artifact, dataset.manifest.tokenizer!, "$.tokenizer"),
  };
  const student = await openCheckpointInput(ctx, "checkpoint");
  const teacher = hasTeacher ? await openCheckpointInput(ctx, "teacher") : undefined;
  const undistilled = hasUndistilled ? await openCheckpointInput(ctx, "undistilled") : undefined;
  checkTokenizers(ctx, packed, student, teacher, undistilled);

  const vocab = packed.tokenizer.manifest.vocabSize;
  const tokenizer = Tokenizer.load(await packed.tokenizer.read(TOKENIZER_HF_FILE), "hf_json");
  const models: Model[] = [];
  try {
    if (tokenizer.vocabSize !== vocab) {
      throw new IntegrityError(
        "EVAL_TOKENIZER_VOCAB",
        `tokenizer.json has ${tokenizer.vocabSize} ids, its manifest says ${vocab}`,
        {
          context: { file: packed.tokenizer.artifact.display, jsonPath: "$.vocabSize" },
          hint: "re-run the pack stage",
        },
      );
    }
    const byteLengths = tokenByteLengths(
      tokenizer,
      vocab,
      packed.tokenizer.manifest.specialTokens.map((s) => s.id),
    );
    const studentModel = loadModel(student, packed, ctx.stage, ctx.threads);
    models.push(studentModel);
    const teacherModel = teacher ? loadModel(teacher, packed, ctx.stage, ctx.threads) : undefined;
    if (teacherModel) models.push(teacherModel);
    const undistilledModel = undistilled ? loadModel(undistilled, packed, ctx.stage, ctx.threads) : undefined;
    if (undistilledModel) models.push(undistilledModel);

    const scorer = new ValidationScorer(studentModel, teacherModel, vocab, undistilledModel);
    await scoreValidation(packed, scorer, rubric.maxExamples, ctx.stage);
    const tokens = scorer.positions();
    const bytes = totalBytes(scorer.targetCounts, byteLengths);
    const train = await trainStatistics(packed, ctx.stage);
    const baselineNats = unigramNats(train.counts, scorer.targetCounts);
    const bigram = bigramNats(fitBigram(train.pairs, train.counts), scorer.targetPairs);
    ctx.log.info("scored", {
      bins: scorer.bins,
      tokens,
      bytes,
      teacher: hasTeacher,
      undistilled: hasUndistilled,
      kernel_variant: studentModel.variant(),
    });

    const scores = (sums: { lossSum: number; count: number } | undefined, c: CheckpointData | undefined) =>
      sums && c ? { ...sums, spikeRatio: lossSpikeRatio(c.curve) } : undefined;
    const metrics = computeMetrics({
      student: scores(scorer.student, student)!,
      teacher: scores(scorer.teacher, teacher),
      undistilled: scores(scorer.undistilled, undistilled),
      agreements: teacher ? scorer.agreements : undefined,
      baselineNats,
      bigramNats: bigram,
      tokens,
      bytes,
      examples: scorer.bins,
      where: { file: dataset.artifact.display, stage: ctx.stage },
    });
    const outcome = evaluateRubric(rubric, metrics, ctx.configFile);
    await writeReport(ctx, { packed, student, teacher, undistilled, metrics, outcome, examples: scorer.bins });
    ctx.log.info("rubric", {
      rubric: rubric.name,
      revision: rubric.revision,
      passed: outcome.passed,
      failed_required: outcome.results
        .filter((r) => r.required && !r.passed)
        .map((r) => r.metric)
        .join(","),
    });

    const key = [
      "student.loss",
      "student.bits_per_byte",
      "baseline.bits_per_byte",
      "bigram.bits_per_byte",
      "student.bpb_gain_vs_baseline",
      "student.bpb_gain_vs_bigram",
      "teacher.bits_per_byte",
      "distillation.bpb_gain",
      "agreement.top1",
    ];
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
  undistilled?: CheckpointData;
  metrics: Record<string, number>;
  outcome: ReturnType<typeof evaluateRubric>;
  examples: number;
}

/** Writes report.html, metrics.json and report.json (the product) into ctx.outDir. */
async function writeReport(ctx: StageContext<EvalRubric>, p: ReportParts): Promise<void> {
  const view = (c: CheckpointData) => ({
    stage: c.checkpoint.manifest.producer?.stageName ?? c.slot,
    digest: c.checkpoint.ref.digest,
    curve: c.curve,
  });
  const html = renderReportHtml({
    rubric: ctx.config,
    outcome: p.outcome,
    metrics: p.metrics,
    student: view(p.student),
    teacher: p.teacher ? view(p.teacher) : undefined,
    undistilled: p.undistilled ? view(p.undistilled) : undefined,
    datasetDigest: p.packed.dataset.artifact.ref.digest,
    exampleCount: p.examples,
  });
  await writeFile(path.join(ctx.outDir, REPORT_HTML_FILE), html);
  await writeFile(path.join(ctx.outDir, EVAL_METRICS_FILE), canonicalJson(p.metrics));
  const report = EvalReport.fromPartial({
    schemaVersion: 1,
    rubric: {
      digest: ctx.configDigest,
      sizeBytes: encodeMessageBytes(EvalRubric, ctx.config).length,
      mediaType: "application/json",
      schemaName: CONTRACTS.EvalRubric.name,
    },
    checkpoint: p.student.checkpoint.ref,
    dataset: p.packed.dataset.artifact.ref,
    results: p.outcome.results,
    passed: p.outcome.passed,
    exampleCount: p.examples,
    htmlReport: ArtifactRef.fromPartial({
      digest: digestBytes(html),
      sizeBytes: Buffer.byteLength(html),
      mediaType: "text/html",
      path: REPORT_HTML_FILE,
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
  usesKernels: true,
  run: runEval,
};
