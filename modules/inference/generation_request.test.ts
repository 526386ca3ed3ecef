// Request bodies of the generation routes: OpenAI's defaults, the limits, and a 400 naming the field for every
// unknown field, wrong type or out-of-range value.

import { ApiError } from "./api_error";
import { chatParams, completionParams, contextExceeded } from "./generation_request";
import type { Limits } from "./generation_request";

const LIMITS: Limits = {
  maxBodyBytes: 1 << 20,
  maxPromptTokens: 128,
  maxTokens: 128,
  maxN: 4,
  maxStop: 4,
  maxLogprobs: 5,
};

function refusal(f: () => unknown): { status: number; param: string | null; code: string | null; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof ApiError) return { status: e.status, param: e.param, code: e.code, message: e.message };
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("completionParams", () => {
  it("applies OpenAI's defaults and picks a seed when none is sent", () => {
    const p = completionParams({ model: "m", prompt: "hi" }, LIMITS);
    expect(p).toMatchObject({
      maxTokens: 16,
      temperature: 1,
      topP: 1,
      topK: 0,
      n: 1,
      stop: [],
      logprobs: null,
      stream: false,
      seedChosen: true,
    });
    expect(typeof p.seed).toBe("bigint");
    const q = completionParams(
      {
        model: "m",
        prompt: [1, 2],
        seed: -1,
        stop: "x",
        logprobs: 2,
        stream: true,
        stream_options: { include_usage: true },
      },
      LIMITS,
    );
    expect(q).toMatchObject({
      prompt: { kind: "tokens", tokens: [1, 2] },
      seed: 2n ** 64n - 1n,
      seedChosen: false,
      stop: ["x"],
      logprobs: 2,
      includeUsage: true,
    });
  });

  it.each([
    [
      { model: "m", prompt: "x", foo: 1 },
      "foo",
      "unknown_field",
      /unknown field `foo`.*its fields are: model, max_tokens/,
    ],
    [{ model: "m", prompt: "x", max_tokens: "5" }, "max_tokens", "invalid_type", /must be an integer, not string/],
    [
      { model: "m", prompt: "x", max_tokens: 500 },
      "max_tokens",
      "invalid_value",
      /\[1, 128\] \(this server's limit, set by --max-tokens-limit\)/,
    ],
    [{ model: "m", prompt: "x", temperature: 3 }, "temperature", "invalid_value", /must be in \[0, 2\]/],
    [{ model: "m", prompt: "x", n: 9 }, "n", "invalid_value", /--max-n/],
    [{ model: "m", prompt: "x", stop: ["a", "b", "c", "d", "e"] }, "stop", "invalid_value", /at most 4/],
    [{ model: "m", prompt: "x", stop: ["a", ""] }, "stop[1]", "invalid_value", /is empty/],
    [{ model: "m", prompt: "x", logprobs: 9 }, "logprobs", "invalid_value", /--max-logprobs/],
    [{ model: "m", prompt: "x", presence_penalty: 0.5 }, "presence_penalty", "unsupported_parameter", /not supported/],
    [
      { model: "m", prompt: "x", stream_options: { include_usage: true } },
      "stream_options",
      "invalid_value",
      /only allowed with `stream: true`/,
    ],
    [{ model: "m", prompt: ["a", "b"] }, "prompt", "unsupported_parameter", /one prompt per request/],
    [{ model: "m", prompt: [1, -2] }, "prompt[1]", "invalid_value", /token ids are integers >= 0/],
    [{ prompt: "x" }, "model", "missing_field", /`model` is required/],
    [{ model: "m" }, "prompt", "missing_field", /`prompt` is required/],
    [[1, 2], "body", "invalid_type", /must be a JSON object, not array/],
  ])("refuses %j naming %s", (body, param, code, message) => {
    const r = refusal(() => completionParams(body, LIMITS));
    expect(r).toMatchObject({ status: 400, param, code });
    expect(r.message).toMatch(message);
  });
});

describe("chatParams", () => {
  it("reads messages (string or text parts) and logprobs/top_logprobs", () => {
    const p = chatParams(
      {
        model: "m",
        messages: [
          { role: "system", content: "be brief" },
          {
            role: "user",
            content: [
              { type: "text", text: "a" },
              { type: "text", text: "b" },
            ],
          },
        ],
        logprobs: true,
        top_logprobs: 3,
        max_completion_tokens: 7,
      },
      LIMITS,
    );
    expect(p.messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "ab" },
    ]);
    expect(p).toMatchObject({ logprobs: 3, maxTokens: 7 });
    expect(chatParams({ model: "m", messages: [{ role: "user", content: "x" }] }, LIMITS).maxTokens).toBeUndefined();
  });

  it.each([
    [{ model: "m", messages: [] }, "messages", /non-empty array/],
    [{ model: "m", messages: [{ role: "tool", content: "x" }] }, "messages[0].role", /"system", "user" or "assistant"/],
    [{ model: "m", messages: [{ role: "user", content: "x", extra: 1 }] }, "messages[0].extra", /unknown field/],
    [
      { model: "m", messages: [{ role: "user", content: [{ type: "image_url" }] }] },
      "messages[0].content[0].type",
      /text only/,
    ],
    [
      { model: "m", messages: [{ role: "user", content: "x" }], top_logprobs: 2 },
      "top_logprobs",
      /needs `logprobs: true`/,
    ],
    [
      { model: "m", messages: [{ role: "user", content: "x" }], max_tokens: 2, max_completion_tokens: 2 },
      "max_completion_tokens",
      /not both/,
    ],
  ])("refuses %j naming %s", (body, param, message) => {
    const r = refusal(() => chatParams(body, LIMITS));
    expect(r).toMatchObject({ status: 400, param });
    expect(r.message).toMatch(message);
  });
});

test("context_length_exceeded says the context, the prompt and max_tokens", () => {
  const e = contextExceeded(120, 16, 128);
  expect(e.body().error).toMatchObject({
    code: "context_length_exceeded",
    type: "invalid_request_error",
    param: "max_tokens",
  });
  expect(e.message).toMatch(
    /maximum context length is 128 tokens.*you requested 136 tokens \(120 in the prompt, 16 for the completion\)/,
  );
});
