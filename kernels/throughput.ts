// Throughput measurements of the data kernels through the binding, shared by `//kernels:bench` (bench.ts) and the
// benchmarks against peers (//benchmarks/peers): the GPT-2 ranks both load, and one timing function per kernel.
// Every figure is the best of N runs (other work on the machine can only slow a run down), single thread.

import fs from "fs";
import { Gate, PackPlan, Tokenizer, fisherYates, shuffleFill, toBytes } from "@nexa/kernels/binding";
import type { GateConfig } from "@nexa/kernels/binding";

// ---------------------------------------------------------------------------------------------------------------------
// The GPT-2 encoding
// ---------------------------------------------------------------------------------------------------------------------

export interface Gpt2Ranks {
  /** npm tiktoken's compact form (gpt2.json bpe_ranks). */
  compact: string;
  specials: Record<string, number>;
  /** The pre-tokenization regex. */
  pattern: string;
  /** The ranks as a tiktoken ranks file: one "<base64 token> <rank>" line per token (our kernels load it). */
  file: string;
}

/** GPT-2's ranks from npm tiktoken's encoders/gpt2.json (in node_modules: nothing is downloaded). */
export function gpt2Ranks(): Gpt2Ranks {
  const json = JSON.parse(fs.readFileSync(require.resolve("tiktoken/encoders/gpt2.json"), "utf8"));
  const lines: string[] = [];
  for (const line of (json.bpe_ranks as string).split("\n")) {
    if (!line) continue;
    const [, offset, ...tokens] = line.split(" ");
    tokens.forEach((t, i) => lines.push(`${t} ${Number(offset) + i}`));
  }
  return {
    compact: json.bpe_ranks,
    specials: json.special_tokens,
    pattern: json.pat_str,
    file: lines.join("\n") + "\n",
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------------------------------------

/** Best wall time in seconds of `runs` calls of `f`. */
export function best(runs: number, f: () => void): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    f();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return min;
}

// ---------------------------------------------------------------------------------------------------------------------
// One kernel each
// ---------------------------------------------------------------------------------------------------------------------

/**
 * GPT-2 encode of every document: best seconds of `runs`, a fresh tokenizer per run (load not timed), so the piece
 * cache starts cold each time; and the ids of the last run.
 */
export function timeTokenize(
  docs: readonly Uint8Array[],
  ranks: Gpt2Ranks,
  runs: number,
): { seconds: number; ids: Uint32Array[] } {
  const ranksFile = toBytes(ranks.file);
  let ids: Uint32Array[] = [];
  let seconds = Infinity;
  for (let r = 0; r < runs; r++) {
    const tok = Tokenizer.load(ranksFile, "tiktoken", ranks.specials);
    seconds = Math.min(
      seconds,
      best(1, () => {
        ids = docs.map((b) => tok.encode(b));
      }),
    );
    tok.free();
  }
  return { seconds, ids };
}

/**
 * Every document in one `encodeBatch` call on `threads` threads, a fresh tokenizer per run (cold piece caches, as
 * `timeTokenize`): best seconds of `runs`, and the last run's ids per document.
 */
export function timeTokenizeBatch(
  docs: readonly Uint8Array[],
  ranks: Gpt2Ranks,
  runs: number,
  threads: number,
): { seconds: number; ids: Uint32Array[] } {
  const ranksFile = toBytes(ranks.file);
  let batch: { ids: Uint32Array; offsets: BigUint64Array } | null = null;
  let seconds = Infinity;
  for (let r = 0; r < runs; r++) {
    const tok = Tokenizer.load(ranksFile, "tiktoken", ranks.specials).setThreads(threads);
    seconds = Math.min(
      seconds,
      best(1, () => {
        batch = tok.encodeBatch(docs);
      }),
    );
    tok.free();
  }
  const { ids, offsets } = batch!;
  return { seconds, ids: docs.map((_, i) => ids.subarray(Number(offsets[i]), Number(offsets[i + 1]))) };
}

/** A gate over every document, a fresh gate per run on `threads`: best seconds of `runs`, the last run's reasons. */
export function timeGate(
  docs: readonly Uint8Array[],
  config: Partial<GateConfig>,
  runs: number,
  threads = 1,
): { seconds: number; reasons: Uint8Array } {
  let reasons: Uint8Array = new Uint8Array(0);
  const seconds = best(runs, () => {
    const gate = new Gate(config).setThreads(threads);
    reasons = gate.run(docs);
    gate.free();
  });
  return { seconds, reasons };
}

/** The gate with its quality filters off: exact + MinHash/LSH near dedup only. */
export const DEDUP_ONLY: Partial<GateConfig> = {
  minBytes: 0,
  maxDuplicateLineFraction: 1,
  maxNgramRepeatFraction: 1,
  maxSymbolFraction: 1,
  maxDigitFraction: 1,
};

/** Best-fit-decreasing pack plan of `lens` into `seqLen` bins: best seconds and bins over the lower bound, %. */
export function timePack(lens: Uint32Array, seqLen: number, runs: number): { seconds: number; overPct: number } {
  let overPct = 0;
  const seconds = best(runs, () => {
    const plan = PackPlan.create(lens, seqLen);
    const s = plan.stats();
    overPct = (s.bins / s.lower_bound_bins - 1) * 100;
    plan.free();
  });
  return { seconds, overPct };
}

/**
 * The Feistel permutation of [0, n) streamed in 64 Ki-index windows (O(1) memory, as a reader consumes it) vs
 * Fisher-Yates materializing the whole permutation: best seconds of each.
 */
export function timeShuffle(n: number, runs: number): { seconds: number; fisherYatesSeconds: number } {
  const window = new BigUint64Array(1 << 16).fill(0n);
  const fy = new Uint32Array(n).fill(0);
  const seconds = best(runs, () => {
    for (let start = 0; start < n; start += window.length) {
      const count = Math.min(window.length, n - start);
      shuffleFill(n, 42, start, count, window);
    }
  });
  const fisherYatesSeconds = best(runs, () => fisherYates(n, 42, fy));
  return { seconds, fisherYatesSeconds };
}
