// Gating in two passes over the kernel gate (kernels/gate through @nexa/kernels/binding):
//   1. filter pass: quality filters only (UTF-8, length, repetition, symbol/digit ratios), per document and so
//      per shard;
//   2. dedup pass: exact + MinHash LSH near dedup over the filter survivors in global reading order, with every
//      filter disabled.
// The kernel's single-pass decision is "filters, then dedup against earlier *kept* documents", so the two passes
// decide exactly what one pass would; splitting them lets shard actions filter in parallel while dedup stays
// global (a document duplicated across two shards is dropped once, in the merge).

import { DEFAULT_GATE_CONFIG, Gate, GATE_REASONS } from "@nexa/kernels/binding";
import type { GateConfig as KernelGateConfig, GateReason } from "@nexa/kernels/binding";
import { ConfigError } from "@nexa/modules/monitoring";
import type { DataConfig } from "@nexa/proto/nexa/v1/data_config";

/** Drop counts per reason name (only reasons that dropped something). */
export type DropCounts = Record<string, number>;

/** Documents per kernel call (the gate keeps its dedup memory across calls). */
const BATCH_DOCS = 1024;

/**
 * The kernel config of DataConfig.gate: values are taken as written; 0 for a structural parameter (ngram_words,
 * minhash_bands/rows/shingle_words) means the kernel default. No `gate` at all means the kernel defaults
 * (DEFAULT_GATE_CONFIG). The MinHash seed is DataConfig.seed.
 */
export function kernelGateConfig(config: DataConfig): KernelGateConfig {
  const g = config.gate;
  const d = DEFAULT_GATE_CONFIG;
  if (!g) return { ...d, minhashSeed: config.seed };
  return {
    ...d,
    minBytes: g.minBytes,
    maxBytes: g.maxBytes,
    maxDuplicateLineFraction: g.maxDuplicateLineFraction,
    maxNgramRepeatFraction: g.maxNgramRepeatFraction,
    maxSymbolFraction: g.maxSymbolFraction,
    maxDigitFraction: g.maxDigitFraction,
    ngramWords: g.ngramWords || d.ngramWords,
    exactDedup: g.exactDedup,
    nearDedup: g.nearDedup,
    minhashBands: g.minhashBands || d.minhashBands,
    minhashRows: g.minhashRows || d.minhashRows,
    minhashShingleWords: g.minhashShingleWords || d.minhashShingleWords,
    minhashSeed: config.seed,
  };
}

/** Runs `gate` over `docs` in batches; returns the reason name per document. */
function runGate(gate: Gate, docs: readonly Uint8Array[]): GateReason[] {
  const out: GateReason[] = [];
  for (let start = 0; start < docs.length; start += BATCH_DOCS) {
    const codes = gate.run(docs.slice(start, start + BATCH_DOCS));
    for (const code of codes) out.push(GATE_REASONS[code]);
  }
  return out;
}

/** Adds one drop per non-keep reason to `counts`. */
export function countDrops(reasons: readonly GateReason[], counts: DropCounts = {}): DropCounts {
  for (const r of reasons) if (r !== "keep") counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/** Sum of drop counts. */
export function addDrops(into: DropCounts, more: DropCounts): DropCounts {
  for (const [reason, n] of Object.entries(more)) into[reason] = (into[reason] ?? 0) + n;
  return into;
}

/** Pass 1: the quality filters' decision per document (dedup off), on `threads` (the decisions do not depend on it). */
export function filterPass(kernel: KernelGateConfig, docs: readonly Uint8Array[], threads = 1): GateReason[] {
  const gate = new Gate({ ...kernel, exactDedup: false, nearDedup: false, shard: 0, numShards: 1 }).setThreads(threads);
  try {
    return runGate(gate, docs);
  } finally {
    gate.free();
  }
}

/**
 * Pass 2: exact and near dedup over filter survivors in reading order (every filter off); digests and MinHash
 * signatures on `threads`, the dedup decisions in stream order (the same for every count).
 */
export function dedupPass(kernel: KernelGateConfig, docs: readonly Uint8Array[], threads = 1): GateReason[] {
  if (!kernel.exactDedup && !kernel.nearDedup) return docs.map(() => "keep");
  const gate = new Gate({
    ...kernel,
    minBytes: 0,
    maxBytes: 0,
    maxDuplicateLineFraction: 1,
    maxNgramRepeatFraction: 1,
    maxSymbolFraction: 1,
    maxDigitFraction: 1,
    shard: 0,
    numShards: 1,
  }).setThreads(threads);
  try {
    return runGate(gate, docs);
  } finally {
    gate.free();
  }
}

/** The config field to relax for each filter reason. */
const RELAX: Partial<Record<GateReason, string>> = {
  too_short: "lower gate.min_bytes",
  too_long: "raise gate.max_bytes (0 = no limit)",
  duplicate_lines: "raise gate.max_duplicate_line_fraction (>= 1 disables it)",
  ngram_repetition: "raise gate.max_ngram_repeat_fraction (>= 1 disables it) or gate.ngram_words",
  symbol_ratio: "raise gate.max_symbol_fraction (>= 1 disables it)",
  digit_ratio: "raise gate.max_digit_fraction (>= 1 disables it)",
  invalid_utf8: "re-encode the raw files as UTF-8",
};

/** Drop counts as "reason=n, …" sorted by reason. */
export function formatDrops(drops: DropCounts): string {
  return Object.keys(drops)
    .sort()
    .map((r) => `${r}=${drops[r]}`)
    .join(", ");
}

/** Throws when the gate kept nothing: the error lists the drops per reason and what to relax. */
export function checkSomethingKept(kept: number, read: number, drops: DropCounts, configFile: string): void {
  if (kept > 0) return;
  if (read === 0) {
    throw new ConfigError("DATA_NO_DOCUMENTS", "the selected raw files hold no documents", {
      context: { file: configFile, jsonPath: "$.sources" },
      hint: "check that the source patterns select the intended files and that they are not empty",
    });
  }
  const fixes = Object.keys(drops)
    .sort()
    .filter((r) => RELAX[r as GateReason] !== undefined)
    .map((r) => `${RELAX[r as GateReason]} (${r}: ${drops[r]})`);
  throw new ConfigError("DATA_ALL_DROPPED", `the gate dropped all ${read} documents: ${formatDrops(drops)}`, {
    context: { file: configFile, jsonPath: "$.gate" },
    hint:
      fixes.length > 0
        ? `relax the thresholds that dropped them: ${fixes.join("; ")}`
        : "check the inputs and the gate config",
  });
}
