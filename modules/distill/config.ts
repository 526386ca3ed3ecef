// Checks of a DistillConfig beyond the contract table (which already requires schemaVersion, teacher.source and
// sampling.maxTokens), and its normalised form: defaults applied (n 0 → 1, top_p 0 → 1), reject patterns compiled,
// the prompt template checked. Every error names the config file, the JSON path and the fix.

import { ConfigError } from "@nexa/modules/monitoring";
import type { DistillConfig } from "@nexa/proto/nexa/v1/distill";

import { planEndpoint } from "./endpoint";
import type { EndpointPlan } from "./endpoint";

/** Placeholder of DistillConfig.prompt_template replaced by the prompt window's text. */
export const TEMPLATE_PLACEHOLDER = "{text}";
/** Upper bound of sampling.n (samples per prompt); more is almost certainly a typo. */
export const MAX_SAMPLES_PER_PROMPT = 64;

/** Sampling with defaults applied; also what every distilled record's provenance.sampling records. */
export interface Sampling {
  temperature: number;
  topP: number;
  topK: number;
  maxTokens: number;
  /** Base seed; generation g (prompt i, sample k) uses seed + i·n + k (mod 2^64). */
  seed: bigint;
  n: number;
}

/** Gating with patterns compiled. */
export interface Gating {
  minChars: number;
  /** 0 = unlimited. */
  maxChars: number;
  dedupe: boolean;
  rejectPatterns: RegExp[];
}

/** The config in the form the stage uses. */
export interface DistillPlan {
  /** Digest the teacher checkpoint must have; "" = whatever is wired to the `teacher` input. */
  teacherDigest: string;
  /** An endpoint teacher (then no `teacher` input is wired); undefined for a checkpoint teacher. */
  endpoint?: EndpointPlan;
  sampling: Sampling;
  gating: Gating;
  /** "" = the window text itself is the prompt. */
  template: string;
  /** 0 = one prompt per train record. */
  maxExamples: number;
}

// ----------------------------------------------------------------------------------------------------------
// checks

/** Validates `config` (read from `file`, stage `stage`) and returns the plan. */
export function planDistill(config: DistillConfig, file: string, stage: string): DistillPlan {
  const fail = (code: string, jsonPath: string, message: string, hint: string): never => {
    throw new ConfigError(code, message, { context: { file, jsonPath, stage }, hint });
  };

  const source = config.teacher?.source;
  const ref = source?.$case === "checkpoint" ? source.value : undefined;
  if (ref === undefined && source?.$case !== "endpoint") {
    return fail(
      "DISTILL_NO_TEACHER",
      "$.teacher",
      "the config names no teacher",
      'set "teacher": {"checkpoint": {"schemaName": "nexa.v1.CheckpointManifest"}} or "teacher": {"endpoint": {"baseUrl": …}}',
    );
  }
  if (ref !== undefined && ref.schemaName !== "" && ref.schemaName !== "nexa.v1.CheckpointManifest") {
    fail(
      "DISTILL_TEACHER_SCHEMA",
      "$.teacher.checkpoint.schemaName",
      `the teacher checkpoint reference has schema ${JSON.stringify(ref.schemaName)}, expected "nexa.v1.CheckpointManifest"`,
      'set "schemaName": "nexa.v1.CheckpointManifest" (or leave it out)',
    );
  }

  const s = config.sampling!;
  if (!Number.isFinite(s.temperature) || s.temperature < 0) {
    fail(
      "DISTILL_TEMPERATURE",
      "$.sampling.temperature",
      `temperature ${s.temperature} must be a finite number >= 0`,
      "use 0 for greedy decoding or e.g. 0.8",
    );
  }
  if (!Number.isFinite(s.topP) || s.topP < 0 || s.topP > 1) {
    fail(
      "DISTILL_TOP_P",
      "$.sampling.topP",
      `top_p ${s.topP} must be in (0, 1] (0 means 1)`,
      "use e.g. 0.95, or leave it out",
    );
  }
  if (s.n > MAX_SAMPLES_PER_PROMPT) {
    fail(
      "DISTILL_SAMPLES",
      "$.sampling.n",
      `n = ${s.n} samples per prompt is above ${MAX_SAMPLES_PER_PROMPT}`,
      "use fewer samples per prompt and more prompts",
    );
  }
  const g = config.gating ?? { minChars: 0, maxChars: 0, dedupe: false, rejectPatterns: [] };
  if (g.maxChars > 0 && g.maxChars < g.minChars) {
    fail(
      "DISTILL_GATING_RANGE",
      "$.gating.maxChars",
      `max_chars ${g.maxChars} is below min_chars ${g.minChars}`,
      "raise max_chars, or set it to 0 (unlimited)",
    );
  }
  const rejectPatterns = g.rejectPatterns.map((p, i) => {
    try {
      return new RegExp(p, "u");
    } catch (err) {
      return fail(
        "DISTILL_REJECT_PATTERN",
        `$.gating.rejectPatterns[${i}]`,
        `invalid regular expression ${JSON.stringify(p)}: ${err instanceof Error ? err.message : String(err)}`,
        "write JavaScript regular expression syntax (unicode mode), escaping backslashes in JSON",
      );
    }
  });
  if (config.promptTemplate !== "" && !config.promptTemplate.includes(TEMPLATE_PLACEHOLDER)) {
    fail(
      "DISTILL_TEMPLATE",
      "$.promptTemplate",
      `the prompt template has no "${TEMPLATE_PLACEHOLDER}" placeholder`,
      `put "${TEMPLATE_PLACEHOLDER}" where the prompt text goes, e.g. "Continue the story:\\n${TEMPLATE_PLACEHOLDER}"`,
    );
  }
  const endpoint = source?.$case === "endpoint" ? planEndpoint(source.value, s.maxTokens, { file, stage }) : undefined;
  if (endpoint !== undefined) {
    // an endpoint takes JSON numbers: generation seeds (seed + i·n + k) must stay exact in one
    if (BigInt(s.seed) >= 2n ** 52n) {
      fail(
        "DISTILL_ENDPOINT_SEED",
        "$.sampling.seed",
        `seed ${s.seed} is too large for an endpoint teacher: request seeds are JSON numbers, exact below 2^53`,
        "use a seed below 2^52",
      );
    }
  }
  return {
    teacherDigest: ref?.digest ?? "",
    endpoint,
    sampling: {
      temperature: s.temperature,
      topP: s.topP === 0 ? 1 : s.topP,
      topK: s.topK,
      maxTokens: s.maxTokens,
      seed: BigInt(s.seed),
      n: s.n === 0 ? 1 : s.n,
    },
    gating: { minChars: g.minChars, maxChars: g.maxChars, dedupe: g.dedupe, rejectPatterns },
    template: config.promptTemplate,
    maxExamples: config.maxExamples,
  };
}

/** Seed of generation (prompt i, sample k): seed + i·n + k, wrapped to u64, so no result depends on order. */
export function generationSeed(s: Sampling, prompt: number, sample: number): bigint {
  return BigInt.asUintN(64, s.seed + BigInt(prompt) * BigInt(s.n) + BigInt(sample));
}
