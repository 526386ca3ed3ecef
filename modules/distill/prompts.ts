// Drawing prompts from the train split, deterministically from sampling.seed:
//   1. order     a seeded permutation of the train records (kernels shuffle), so raising max_examples only adds
//                prompts after the ones already drawn; take records in that order until max_examples prompts;
//   2. window    encode the record with the teacher's tokenizer and cut a window of W tokens at a seeded offset
//                (sha256 of seed and record id, so it does not depend on the record's position),
//                W = min(document tokens, max_tokens, teacher seq_len − max_tokens − template tokens):
//                a distilled record is at most about half real text and half teacher text;
//   3. text      decode the window, dropping the partial UTF-8 characters a token window may cut at its ends;
//   4. template  prompt_template with "{text}" replaced by the window text (or the window text alone);
//   5. tokens    encode the prompt; when token merges make it longer than the context allows, keep its last tokens.
// Records without text (no tokens or no whole character in the window) are counted as drops "empty_prompt".

import { createHash } from "crypto";

import { shuffleFill } from "@nexa/kernels/binding";
import type { Tokenizer } from "@nexa/kernels/binding";
import { ConfigError } from "@nexa/modules/monitoring";

import { TEMPLATE_PLACEHOLDER } from "./config";
import type { DistillPlan } from "./config";
import type { TextRecord as SourceRecord } from "@nexa/modules/text_dataset";

/** One prompt sent to the teacher. */
export interface Prompt {
  /** Position in the drawn order (the generation seed depends on it). */
  index: number;
  record: SourceRecord;
  /** The prompt text (template applied): the distilled record's text starts with it. */
  text: string;
  tokens: Uint32Array;
}

export interface DrawnPrompts {
  prompts: Prompt[];
  /** Train records looked at (drawn or skipped as empty). */
  considered: number;
  emptyPrompts: number;
  /** Prompts cut from the left to fit the teacher's context. */
  truncated: number;
  /** W of the header comment before the per-record cap. */
  windowTokens: number;
}

// ----------------------------------------------------------------------------------------------------------
// helpers

/** Text of token bytes, without a partial UTF-8 character at either end (invalid bytes inside become U+FFFD). */
export function decodeWhole(bytes: Uint8Array): string {
  let start = 0;
  while (start < bytes.length && start < 3 && (bytes[start] & 0xc0) === 0x80) start++; // continuation bytes
  // stream mode holds back an incomplete trailing character instead of emitting U+FFFD.
  return new TextDecoder("utf-8").decode(bytes.subarray(start), { stream: true });
}

/** Seeded window offset in [0, span] for one record: independent of the record's position and of other records. */
function windowOffset(seed: bigint, id: string, span: number): number {
  if (span <= 0) return 0;
  const h = createHash("sha256").update(`${seed}\0${id}`).digest();
  return Number(h.readBigUInt64LE(0) % BigInt(span + 1));
}

const applyTemplate = (template: string, text: string): string =>
  template === "" ? text : template.split(TEMPLATE_PLACEHOLDER).join(text);

// ----------------------------------------------------------------------------------------------------------
// drawing

/** Draws the prompts (see the header comment); `contextTokens` is the teacher's seq_len. */
export function drawPrompts(
  records: readonly SourceRecord[],
  plan: DistillPlan,
  tokenizer: Tokenizer,
  contextTokens: number,
  where: { file: string; stage: string },
): DrawnPrompts {
  const maxTokens = plan.sampling.maxTokens;
  const budget = contextTokens - maxTokens; // prompt tokens that fit before the generated ones
  const overhead = plan.template === "" ? 0 : tokenizer.encode(applyTemplate(plan.template, "")).length;
  const windowTokens = Math.min(maxTokens, budget - overhead);
  if (windowTokens < 1) {
    throw new ConfigError(
      "DISTILL_CONTEXT",
      `max_tokens ${maxTokens} + ${overhead} template tokens leave no room for a prompt in the teacher's context of ${contextTokens} tokens`,
      {
        context: { ...where, jsonPath: "$.sampling.maxTokens" },
        hint: `set sampling.maxTokens to at most ${Math.max(1, Math.floor((contextTokens - overhead) / 2))} (or shorten the prompt template)`,
      },
    );
  }

  const n = records.length;
  const want = plan.maxExamples > 0 ? Math.min(plan.maxExamples, n) : n;
  const order = n > 0 ? shuffleFill(n, plan.sampling.seed, 0, n) : new BigUint64Array(0);
  const prompts: Prompt[] = [];
  let considered = 0;
  let emptyPrompts = 0;
  // Encode candidates in chunks of the prompts still missing (one kernel call per chunk).
  while (prompts.length < want && considered < n) {
    const chunk = Array.from(
      order.subarray(considered, Math.min(n, considered + want - prompts.length)),
      (i) => records[Number(i)],
    );
    considered += chunk.length;
    const { ids, offsets } = tokenizer.encodeBatch(chunk.map((r) => r.text));
    const texts: string[] = [];
    const kept: SourceRecord[] = [];
    chunk.forEach((record, j) => {
      const [from, to] = [Number(offsets[j]), Number(offsets[j + 1])];
      const w = Math.min(to - from, windowTokens);
      const start = from + windowOffset(plan.sampling.seed, record.id, to - from - w);
      const text = w > 0 ? decodeWhole(tokenizer.decode(ids.subarray(start, start + w))) : "";
      if (text === "") {
        emptyPrompts++;
        return;
      }
      texts.push(applyTemplate(plan.template, text));
      kept.push(record);
    });
    const encoded = tokenizer.encodeBatch(texts);
    kept.forEach((record, j) => {
      const tokens = encoded.ids.slice(Number(encoded.offsets[j]), Number(encoded.offsets[j + 1]));
      prompts.push({ index: prompts.length, record, text: texts[j], tokens });
    });
  }
  let truncated = 0;
  for (const p of prompts) {
    if (p.tokens.length > budget) {
      p.tokens = p.tokens.slice(p.tokens.length - budget);
      truncated++;
    }
  }
  return { prompts, considered, emptyPrompts, truncated, windowTokens };
}

/**
 * Prompts for an endpoint teacher, whose tokenizer the stage does not have: the same seeded record order and
 * window offset as drawPrompts, with the window measured in code points (`promptChars`, default 4 × max_tokens)
 * instead of teacher tokens. The server tokenizes; a prompt it cannot fit is refused by it, naming the prompt.
 */
export function drawTextPrompts(
  records: readonly SourceRecord[],
  plan: DistillPlan,
  promptChars: number,
): DrawnPrompts {
  const n = records.length;
  const want = plan.maxExamples > 0 ? Math.min(plan.maxExamples, n) : n;
  const order = n > 0 ? shuffleFill(n, plan.sampling.seed, 0, n) : new BigUint64Array(0);
  const prompts: Prompt[] = [];
  let considered = 0;
  let emptyPrompts = 0;
  while (prompts.length < want && considered < n) {
    const record = records[Number(order[considered++])];
    const chars = Array.from(record.text);
    const w = Math.min(chars.length, promptChars);
    const start = windowOffset(plan.sampling.seed, record.id, chars.length - w);
    const text = chars.slice(start, start + w).join("");
    if (text === "") {
      emptyPrompts++;
      continue;
    }
    prompts.push({
      index: prompts.length,
      record,
      text: applyTemplate(plan.template, text),
      tokens: new Uint32Array(0),
    });
  }
  return { prompts, considered, emptyPrompts, truncated: 0, windowTokens: promptChars };
}
