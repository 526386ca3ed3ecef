// Kernel benchmark: `bazel run //kernels:bench -- --json` prints ONE JSON object, every figure measured in this run
// on the same data, single thread.
//
// Corpus: real text from node_modules — every *.md file in sorted path order, then *.d.ts files in sorted path
// order until the corpus reaches 10 MiB (whole files only). node_modules is found at $BUILD_WORKSPACE_DIRECTORY
// (set by `bazel run`), or `--node-modules <dir>`, or ./node_modules.
//
// Figures (best of N runs each; a fresh tokenizer per run, so the piece cache starts cold):
//   pack.docs_per_s, pack.bins_over_lower_bound_pct   best-fit-decreasing plan of the corpus paragraphs' GPT-2
//                                                      token lengths (×20) into 2048-token bins
//   tokenize.mb_per_s / tokenize.tiktoken_mb_per_s    GPT-2 encode of every file, ours vs npm tiktoken (WASM)
//   tokenize.ids_identical                            every id equal between the two
//   shuffle.ns_per_index / shuffle.fisher_yates_ns_per_index   permutation of [0, 10^7): Feistel streamed through a
//                                                      64 Ki-index window vs Fisher-Yates over a full array
//   dedup.mb_per_s                                    exact + MinHash/LSH near dedup (14 bands × 8 rows, 5-word
//                                                      shingles) over every file, quality filters off

import fs from "fs";
import path from "path";
import { Tiktoken } from "tiktoken/lite";
import { Tokenizer, toBytes } from "@nexa/kernels/binding";

import { DEDUP_ONLY, best, gpt2Ranks, timeGate, timePack, timeShuffle, timeTokenize } from "./throughput";

const MIB = 1 << 20;
const CORPUS_BYTES = 10 * MIB;

// ---------------------------------------------------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------------------------------------------------

function nodeModulesDir(argv: string[]): string {
  const i = argv.indexOf("--node-modules");
  if (i >= 0 && argv[i + 1]) return argv[i + 1];
  const ws = process.env.BUILD_WORKSPACE_DIRECTORY;
  return ws ? path.join(ws, "node_modules") : path.resolve("node_modules");
}

/** Files under `root` whose name ends with `suffix`, sorted by path (byte order, locale-independent). */
function listFiles(root: string, suffix: string): string[] {
  const out: string[] = [];
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop() as string;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile() && e.name.endsWith(suffix)) out.push(p);
    }
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Documents (file texts) of the corpus, and the files used. */
function loadCorpus(root: string): { docs: string[]; files: number; bytes: number } {
  const docs: string[] = [];
  let bytes = 0;
  for (const suffix of [".md", ".d.ts"]) {
    for (const f of listFiles(root, suffix)) {
      if (bytes >= CORPUS_BYTES) break;
      // A lossy decode, so both tokenizers see identical valid UTF-8.
      const text = new TextDecoder().decode(fs.readFileSync(f));
      if (text.includes("<|endoftext|>")) continue; // tiktoken refuses special-token text in plain encode
      docs.push(text);
      bytes += Buffer.byteLength(text);
    }
  }
  return { docs, files: docs.length, bytes };
}

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

// ---------------------------------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------------------------------

function main(): void {
  const argv = process.argv.slice(2);
  const json = argv.includes("--json");
  const corpus = loadCorpus(nodeModulesDir(argv));
  if (corpus.bytes < CORPUS_BYTES) {
    throw new Error(`corpus has ${corpus.bytes} bytes, need ${CORPUS_BYTES}; pass --node-modules <dir>`);
  }
  const bytes = corpus.docs.map(toBytes);
  const mb = corpus.bytes / 1e6;
  const ranks = gpt2Ranks();
  const ranksFile = toBytes(ranks.file);

  // Tokenize: ours (a fresh tokenizer per run, load excluded from timing) vs npm tiktoken, per document.
  const { seconds: encodeSeconds, ids: ours } = timeTokenize(bytes, ranks, 3);
  const reference = new Tiktoken(ranks.compact, ranks.specials, ranks.pattern);
  let theirs: Uint32Array[] = [];
  const tiktokenSeconds = best(3, () => {
    theirs = corpus.docs.map((d) => reference.encode_ordinary(d));
  });
  reference.free();
  const identical =
    ours.length === theirs.length &&
    ours.every((a, i) => a.length === theirs[i].length && a.every((v, k) => v === theirs[i][k]));

  // Pack: paragraphs of the corpus as documents, GPT-2 token lengths, 2048-token bins.
  const paragraphs = corpus.docs.flatMap((d) => d.split(/\n\s*\n/)).filter((p) => p.length > 0);
  const tok = Tokenizer.load(ranksFile, "tiktoken", ranks.specials);
  const { offsets } = tok.encodeBatch(paragraphs);
  tok.free();
  // The paragraph lengths repeated 20 times (≈ 1 M documents) so one plan takes long enough to time reliably.
  const copies = 20;
  const lens = new Uint32Array(paragraphs.length * copies);
  for (let i = 0; i < paragraphs.length; i++) {
    const len = Number(offsets[i + 1] - offsets[i]);
    for (let c = 0; c < copies; c++) lens[c * paragraphs.length + i] = len;
  }
  const seqLen = 2048;
  const { seconds: packSeconds, overPct } = timePack(lens, seqLen, 7);

  // Shuffle: the Feistel permutation streamed in 64 Ki-index windows (O(1) memory, as a reader consumes it) vs
  // Fisher-Yates materializing the whole permutation, same n.
  const n = 10_000_000;
  const { seconds: shuffleSeconds, fisherYatesSeconds: fySeconds } = timeShuffle(n, 3);

  // Dedup: exact + near dedup over the files, quality filters disabled.
  const { seconds: dedupSeconds } = timeGate(bytes, DEDUP_ONLY, 3);

  const result = {
    corpus: { source: "node_modules *.md then *.d.ts, sorted paths", files: corpus.files, bytes: corpus.bytes },
    pack: {
      docs: lens.length,
      seq_len: seqLen,
      docs_per_s: Math.round(lens.length / packSeconds),
      bins_over_lower_bound_pct: round(overPct, 4),
    },
    tokenize: {
      mb_per_s: round(mb / encodeSeconds, 2),
      tiktoken_mb_per_s: round(mb / tiktokenSeconds, 2),
      speedup: round(tiktokenSeconds / encodeSeconds, 2),
      ids_identical: identical,
    },
    shuffle: {
      n,
      ns_per_index: round((shuffleSeconds * 1e9) / n, 2),
      fisher_yates_ns_per_index: round((fySeconds * 1e9) / n, 2),
    },
    dedup: { mb_per_s: round(mb / dedupSeconds, 2) },
  };
  if (json) {
    process.stdout.write(JSON.stringify(result) + "\n");
  } else {
    process.stdout.write(JSON.stringify(result, null, 2) + "\n");
  }
}

main();
