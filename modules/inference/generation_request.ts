// The generation parameters of /v1/completions and /v1/chat/completions, read from the body and checked against
// the server's limits. Defaults follow OpenAI's: temperature 1, top_p 1, n 1, max_tokens 16 for completions (the
// rest of the context for chat), no logprobs. top_k is an extension (0 = no limit). The seed is a JSON integer;
// without one the server picks one and returns it, so every response can be reproduced.

import { randomInt } from "crypto";

import { ApiError, invalidField } from "./api_error";
import { Fields } from "./request_fields";

/** What a request may ask for at most (server flags). */
export interface Limits {
  /** --max-body-bytes */
  maxBodyBytes: number;
  /** --max-prompt-tokens (at most the model's context) */
  maxPromptTokens: number;
  /** --max-tokens-limit: the largest max_tokens accepted */
  maxTokens: number;
  /** --max-n */
  maxN: number;
  /** --max-stop (OpenAI's limit is 4) */
  maxStop: number;
  /** --max-logprobs: the most alternatives per token */
  maxLogprobs: number;
}

export type Prompt = { kind: "text"; text: string } | { kind: "tokens"; tokens: number[] };

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface GenerationParams {
  endpoint: "completions" | "chat";
  model: string;
  prompt?: Prompt;
  messages?: ChatMessage[];
  /** undefined: chat's default, the rest of the context. */
  maxTokens: number | undefined;
  temperature: number;
  topP: number;
  topK: number;
  n: number;
  stop: string[];
  /** The seed of choice 0 (choice i uses seed + i, modulo 2^64). */
  seed: bigint;
  /** True when the server picked the seed. */
  seedChosen: boolean;
  /** Alternatives per token, or null for no logprobs. */
  logprobs: number | null;
  stream: boolean;
  includeUsage: boolean;
}

const COMMON = [
  "model",
  "max_tokens",
  "temperature",
  "top_p",
  "top_k",
  "n",
  "stop",
  "seed",
  "stream",
  "stream_options",
  "user",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
];
const COMPLETIONS = [...COMMON, "prompt", "logprobs", "echo", "best_of", "suffix"];
const CHAT = [...COMMON, "messages", "max_completion_tokens", "logprobs", "top_logprobs"];

/** A seed the server picks: an integer a JSON number carries exactly. */
export function pickSeed(): bigint {
  return BigInt(randomInt(0, 2 ** 48 - 1));
}

function common(f: Fields, limits: Limits): Omit<GenerationParams, "endpoint" | "maxTokens" | "logprobs"> {
  f.noop("presence_penalty", 0, "no repetition penalties");
  f.noop("frequency_penalty", 0, "no repetition penalties");
  f.noop("logit_bias", {}, "no logit bias");
  f.string("user");
  const stream = f.boolean("stream", false);
  let includeUsage = false;
  if (f.has("stream_options")) {
    if (!stream) {
      throw invalidField("stream_options", "`stream_options` is only allowed with `stream: true`");
    }
    const o = new Fields(f.raw("stream_options"), "stream_options", ["include_usage"], "`stream_options`");
    includeUsage = o.boolean("include_usage", false);
  }
  const seedValue = f.integer("seed", undefined, -(2 ** 53 - 1), 2 ** 53 - 1);
  return {
    model: f.string("model", true),
    temperature: f.number("temperature", 1, 0, 2),
    topP: f.number("top_p", 1, Number.MIN_VALUE, 1),
    topK: f.integer("top_k", 0, 0, 2 ** 31 - 1)!,
    n: f.integer("n", 1, 1, limits.maxN, "--max-n")!,
    stop: f.stop("stop", limits.maxStop),
    seed: seedValue === undefined ? pickSeed() : BigInt.asUintN(64, BigInt(seedValue)),
    seedChosen: seedValue === undefined,
    stream,
    includeUsage,
  };
}

/** POST /v1/completions */
export function completionParams(body: unknown, limits: Limits): GenerationParams {
  const f = new Fields(body, "", COMPLETIONS, "the request body of /v1/completions");
  const base = common(f, limits);
  f.noop("echo", false, "the prompt is not echoed");
  f.noop("suffix", null, "no insertion");
  if (f.has("best_of") && f.raw("best_of") !== base.n && f.raw("best_of") !== 1) {
    f.noop("best_of", base.n, "best_of must equal n");
  }
  if (!f.has("prompt")) throw invalidField("prompt", "`prompt` is required", "missing_field");
  const raw = f.raw("prompt");
  let prompt: Prompt;
  if (typeof raw === "string") {
    prompt = { kind: "text", text: raw };
  } else if (Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === "number")) {
    raw.forEach((x, i) => {
      if (!Number.isSafeInteger(x) || (x as number) < 0) {
        throw invalidField(`prompt[${i}]`, `\`prompt[${i}]\` is ${x}; token ids are integers >= 0`);
      }
    });
    prompt = { kind: "tokens", tokens: raw as number[] };
  } else if (Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === "string" || Array.isArray(x))) {
    throw invalidField(
      "prompt",
      "`prompt` holds several prompts; this server takes one prompt per request (a string or an array of token ids)",
      "unsupported_parameter",
    );
  } else {
    throw invalidField("prompt", "`prompt` must be a string or a non-empty array of token ids", "invalid_type");
  }
  const logprobs = f.integer("logprobs", undefined, 0, limits.maxLogprobs, "--max-logprobs");
  return {
    ...base,
    endpoint: "completions",
    prompt,
    maxTokens: f.integer("max_tokens", 16, 1, limits.maxTokens, "--max-tokens-limit"),
    logprobs: logprobs === undefined ? null : logprobs,
  };
}

/** POST /v1/chat/completions */
export function chatParams(body: unknown, limits: Limits): GenerationParams {
  const f = new Fields(body, "", CHAT, "the request body of /v1/chat/completions");
  const base = common(f, limits);
  if (f.has("max_tokens") && f.has("max_completion_tokens")) {
    throw invalidField("max_completion_tokens", "send either `max_tokens` or `max_completion_tokens`, not both");
  }
  const maxKey = f.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  const raw = f.raw("messages");
  if (!Array.isArray(raw) || raw.length === 0) {
    throw invalidField("messages", "`messages` must be a non-empty array of {role, content}", "invalid_type");
  }
  const messages = raw.map((m, i): ChatMessage => {
    const mf = new Fields(m, `messages[${i}]`, ["role", "content", "name"], `messages[${i}]`);
    const role = mf.string("role", true);
    if (role !== "system" && role !== "user" && role !== "assistant") {
      throw invalidField(
        `messages[${i}].role`,
        `\`messages[${i}].role\` is "${role}"; this server takes "system", "user" or "assistant"`,
      );
    }
    mf.string("name");
    const content = mf.raw("content");
    if (typeof content === "string") return { role, content };
    if (Array.isArray(content)) {
      const parts = content.map((p, j) => {
        const pf = new Fields(p, `messages[${i}].content[${j}]`, ["type", "text"], `messages[${i}].content[${j}]`);
        const type = pf.string("type", true);
        if (type !== "text") {
          throw invalidField(
            `messages[${i}].content[${j}].type`,
            `content part type "${type}" is not supported (text only)`,
            "unsupported_parameter",
          );
        }
        return pf.string("text", true);
      });
      return { role, content: parts.join("") };
    }
    throw invalidField(
      `messages[${i}].content`,
      `\`messages[${i}].content\` must be a string or an array of text parts`,
      "invalid_type",
    );
  });
  const logprobs = f.boolean("logprobs", false);
  const top = f.integer("top_logprobs", undefined, 0, limits.maxLogprobs, "--max-logprobs");
  if (top !== undefined && !logprobs) {
    throw invalidField("top_logprobs", "`top_logprobs` needs `logprobs: true`");
  }
  return {
    ...base,
    endpoint: "chat",
    messages,
    maxTokens: f.integer(maxKey, undefined, 1, limits.maxTokens, "--max-tokens-limit"),
    logprobs: logprobs ? (top ?? 0) : null,
  };
}

/** The prompt does not leave room for max_tokens: OpenAI's context_length_exceeded, never a silent truncation. */
export function contextExceeded(promptTokens: number, maxTokens: number, context: number): ApiError {
  return new ApiError(
    400,
    "invalid_request_error",
    "context_length_exceeded",
    `This model's maximum context length is ${context} tokens. However, you requested ${promptTokens + maxTokens} ` +
      `tokens (${promptTokens} in the prompt, ${maxTokens} for the completion). Please reduce the prompt or max_tokens.`,
    "max_tokens",
  );
}
