// Tokenizer through the FFI: training, round trips, formats, and conformance with npm tiktoken on GPT-2.
//
// Invalid UTF-8: tiktoken's JS API takes strings, so raw bytes cannot be compared directly. Inputs with invalid
// bytes are compared after a lossy decode (TextDecoder, which maps each maximal invalid subsequence to U+FFFD):
// both tokenizers then see the same valid UTF-8. Raw invalid bytes are covered by the exact
// decode(encode(x)) == x round trip instead.

import fs from "fs";
import path from "path";
import { Tiktoken } from "tiktoken/lite";
import { Tokenizer, toBytes } from "./index";

// ---------------------------------------------------------------------------------------------------------------------
// GPT-2 vocabulary from npm tiktoken (converted at test time, never committed)
// ---------------------------------------------------------------------------------------------------------------------

interface TiktokenEncoderJson {
  bpe_ranks: string;
  special_tokens: Record<string, number>;
  pat_str: string;
}

function gpt2Json(): TiktokenEncoderJson {
  return JSON.parse(fs.readFileSync(require.resolve("tiktoken/encoders/gpt2.json"), "utf8")) as TiktokenEncoderJson;
}

/** tiktoken's compact "! <first rank> <b64> <b64> ..." form → standard "<b64> <rank>" lines. */
export function ranksToTiktokenFile(compact: string): string {
  const lines: string[] = [];
  for (const line of compact.split("\n")) {
    if (!line) continue;
    const [, offset, ...tokens] = line.split(" ");
    const first = Number(offset);
    tokens.forEach((t, i) => lines.push(`${t} ${first + i}`));
  }
  return lines.join("\n") + "\n";
}

// ---------------------------------------------------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------------------------------------------------

const HAND_WRITTEN = [
  "Hello world! The quick brown fox jumps over the lazy dog.",
  "I'm sure they'll say it's fine, we've done it; you'd agree? I'D NOT.",
  "function add(a, b) {\n    return a + b; // sum\n}\n\tconst x = [1, 2, 3].map((v) => v ** 2);\n",
  "def f(x):\n        if x > 10_000:\n            return {'k': x}\n\n\n",
  "Ünïcödé façade, naïve café — «quotes» and “smart quotes”…",
  "日本語のテキスト、中文文本，한국어 텍스트. Ελληνικά κείμενα. Русский текст.",
  "हिन्दी पाठ में मात्राएँ, العربية مع التشكيل: مَرْحَبًا, עברית",
  "emoji 😀🚀 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 skin 👍🏽 keycap 1️⃣",
  "numbers 3.14159 1,000,000 ٣٤٥ Ⅻ ½ ² 0x1F",
  "   leading spaces, trailing spaces   ",
  "tabs\t\tand\nnewlines\n\n\nand\r\nCRLF and \u00a0nbsp and \u3000ideographic space",
  "  \n \n\t  x",
  "a  b   c    d",
  " ",
  "\n",
  "",
  "'s",
  " 's",
  "?'s",
  "''ll",
  "x'",
  "'",
  "combining e\u0301 and a\u0308 and \u0301 alone, Ⓐ circled",
  "zero\u200bwidth\u200dspace and soft\u00adhyphen",
  "<|endoftext> almost special <|endoftext",
  "https://example.com/path?query=1&b=2#frag user@example.org",
  "#### Markdown *emphasis* **bold** `code` [link](http://x.y)\n- item\n  - nested",
];

/** Deterministic random strings over a pool of tricky characters. */
function fuzzCorpus(count: number, seed: number): string[] {
  const pool = [
    ..."abcXYZ019 ' \t\n\r.,;:!?-_()[]{}<>/\\\"#$%&*+=@^`|~",
    "é",
    "ß",
    "ñ",
    "ü",
    "Ж",
    "λ",
    "中",
    "語",
    "한",
    "ا",
    "ש",
    "क",
    "ि",
    "्",
    "\u0301",
    "😀",
    "🚀",
    "👍🏽",
    "\u200d",
    "٣",
    "Ⅻ",
    "½",
    "\u00a0",
    "\u3000",
    "\u2028",
    "\u0085",
    "Ⓐ",
    "ǅ",
    "ʰ",
    "々",
    "𝔘",
    "\ufffd",
    "  ",
    "\n\n",
    "'s",
    "'ll",
    "'re",
    " 's",
  ];
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const len = next() % 40;
    let s = "";
    for (let k = 0; k < len; k++) s += pool[next() % pool.length];
    out.push(s);
  }
  return out;
}

/** Some real Markdown shipped in node_modules (koffi and tiktoken docs), in sorted path order. */
function markdownCorpus(): string[] {
  const docs: string[] = [];
  for (const pkg of ["koffi", "tiktoken"]) {
    const root = path.dirname(require.resolve(pkg)); // both packages keep their entry at the root
    const stack = [root];
    const files: string[] = [];
    while (stack.length) {
      const dir = stack.pop() as string;
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) stack.push(p);
        else if (e.name.endsWith(".md")) files.push(p);
      }
    }
    for (const f of files.sort()) docs.push(fs.readFileSync(f, "utf8"));
  }
  return docs;
}

// ---------------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------------

describe("tokenizer conformance with npm tiktoken (GPT-2)", () => {
  const json = gpt2Json();
  const ours = Tokenizer.load(toBytes(ranksToTiktokenFile(json.bpe_ranks)), "tiktoken", json.special_tokens);
  const reference = new Tiktoken(json.bpe_ranks, json.special_tokens, json.pat_str);
  afterAll(() => {
    ours.free();
    reference.free();
  });

  const expectSameIds = (text: string) => {
    const want = Array.from(reference.encode_ordinary(text));
    const got = Array.from(ours.encode(text));
    if (got.join() !== want.join()) {
      throw new Error(
        `ids differ for ${JSON.stringify(text.slice(0, 200))}\n ours: ${got.slice(0, 40)}\n tiktoken: ${want.slice(0, 40)}`,
      );
    }
  };

  test("vocabulary size", () => {
    expect(ours.vocabSize).toBe(50257);
  });

  test("hand-written mixed corpus gives identical ids", () => {
    HAND_WRITTEN.forEach(expectSameIds);
    expectSameIds(HAND_WRITTEN.join("\n"));
  });

  test("fuzzed strings over tricky characters give identical ids", () => {
    fuzzCorpus(2000, 12345).forEach(expectSameIds);
  });

  test("real Markdown documents give identical ids", () => {
    const docs = markdownCorpus();
    expect(docs.length).toBeGreaterThan(5);
    docs.forEach(expectSameIds);
  });

  test("invalid UTF-8 compares after lossy decode and round-trips exactly as bytes", () => {
    const raw = new Uint8Array([0x61, 0xff, 0x20, 0xe2, 0x82, 0x20, 0x62, 0xf0, 0x9f, 0x98, 0xc0, 0xaf, 0x63, 0x80]);
    expectSameIds(new TextDecoder("utf-8", { fatal: false }).decode(raw));
    expect(Array.from(ours.decode(ours.encode(raw)))).toEqual(Array.from(raw));
  });

  test("special tokens match when allowed", () => {
    const text = "end<|endoftext|>start <|endoftext|>";
    expect(Array.from(ours.encode(text, { allowSpecial: true }))).toEqual(Array.from(reference.encode(text, "all")));
  });

  test("each encode returns its own ids: small documents share a reused buffer, large ones do not", () => {
    const first = ours.encode("hello world, hello whale");
    const kept = Array.from(first);
    const second = ours.encode("a different sentence, longer than the first one by a few words");
    expect(Array.from(first)).toEqual(kept); // not overwritten by the next call
    expect(first.buffer).not.toBe(second.buffer);
    expect(first.length).toBe(kept.length);
    expect(first.buffer.byteLength).toBe(first.length * 4); // copied out at its real length
    const big = HAND_WRITTEN.join("\n").repeat(Math.ceil((3 << 19) / HAND_WRITTEN.join("\n").length));
    expect(toBytes(big).length).toBeGreaterThan(1 << 20);
    expectSameIds(big);
    const bigIds = ours.encode(big);
    expect(bigIds.buffer.byteLength).toBe(bigIds.length * 4);
    expectSameIds(HAND_WRITTEN[0]); // a small one again after the large one
  });

  test("HF tokenizer.json and native round trips keep GPT-2 ids", () => {
    const text = HAND_WRITTEN.join(" ");
    const want = Array.from(ours.encode(text));
    for (const format of ["hf_json", "native"] as const) {
      const back = Tokenizer.load(ours.save(format), format);
      expect(Array.from(back.encode(text))).toEqual(want);
      expect(back.vocabSize).toBe(50257);
      back.free();
    }
  });
});

describe("trained tokenizer", () => {
  const docs = [...HAND_WRITTEN, ...markdownCorpus().slice(0, 3)];
  const tok = Tokenizer.train(docs, { vocabSize: 600, minFrequency: 2, specials: ["<|endoftext|>"] });
  afterAll(() => tok.free());

  test("training is deterministic and reaches the target size", () => {
    const again = Tokenizer.train(docs, { vocabSize: 600, minFrequency: 2, specials: ["<|endoftext|>"] });
    expect(Buffer.from(again.save("native")).equals(Buffer.from(tok.save("native")))).toBe(true);
    expect(tok.vocabSize).toBe(600);
    again.free();
  });

  test("decode(encode(x)) == x for arbitrary bytes", () => {
    let state = 99;
    for (let i = 0; i < 300; i++) {
      const len = i % 97;
      const bytes = new Uint8Array(len);
      for (let k = 0; k < len; k++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        bytes[k] = state >>> 24;
      }
      expect(Buffer.from(tok.decode(tok.encode(bytes))).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  test("encodeBatch equals per-document encode", () => {
    const { ids, offsets } = tok.encodeBatch(docs);
    docs.forEach((d, i) => {
      expect(Array.from(ids.subarray(Number(offsets[i]), Number(offsets[i + 1])))).toEqual(Array.from(tok.encode(d)));
    });
  });

  test("encodeBatch on 1, 2, 3 and 8 threads gives the same ids and offsets", () => {
    const many = Array.from({ length: 40 }, (_, i) => docs[i % docs.length].repeat(1 + (i % 5)));
    const one = tok.setThreads(1).encodeBatch(many);
    for (const threads of [2, 3, 8]) {
      const got = tok.setThreads(threads).encodeBatch(many);
      expect(Buffer.from(got.ids.buffer, got.ids.byteOffset, got.ids.byteLength)).toEqual(
        Buffer.from(one.ids.buffer, one.ids.byteOffset, one.ids.byteLength),
      );
      expect(Array.from(got.offsets)).toEqual(Array.from(one.offsets));
    }
    tok.setThreads(1);
    expect(() => tok.setThreads(1000)).toThrow(/threads 1000 is too many; use 1..=256/);
  });

  test("bad input: vocab too small, unknown ids", () => {
    expect(() => Tokenizer.train(docs, { vocabSize: 100 })).toThrow(/too small/);
    expect(() => tok.decode(new Uint32Array([1, 999999]))).toThrow(/ids\[1\] = 999999/);
    expect(Array.from(tok.encode(""))).toEqual([]);
  });
});
