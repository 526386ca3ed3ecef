// The endpoint teacher's config checks, prompt windows without a tokenizer, and the recording's format: a recorded
// answer replays only for the request it was recorded for, and a damaged recording is refused by line.
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import type { DistillConfig, TeacherEndpoint } from "@nexa/proto/nexa/v1/distill";
import type { TextRecord } from "@nexa/modules/text_dataset";

import { planDistill } from "./config";
import { openEndpointTeacher, RECORDING_ENV, responseLine } from "./endpoint";
import type { TeacherAnswer } from "./endpoint";
import { drawTextPrompts } from "./prompts";

const FP = `fp_${"ab".repeat(12)}`;
const endpoint = (over: Partial<TeacherEndpoint> = {}): TeacherEndpoint => ({
  baseUrl: "http://127.0.0.1:8000/v1",
  model: "m",
  apiKeyEnv: "",
  timeoutMs: 0,
  systemFingerprint: FP,
  promptChars: 0,
  ...over,
});
const config = (e: TeacherEndpoint, over: Partial<DistillConfig> = {}): DistillConfig => ({
  schemaVersion: 1,
  teacher: { source: { $case: "endpoint", value: e } },
  sampling: { temperature: 0.5, topP: 0, topK: 0, maxTokens: 10, seed: 5, n: 0 },
  promptTemplate: "",
  maxExamples: 0,
  concurrency: 0,
  ...over,
});
const where = { file: "c.json", stage: "distill" };
const plan = (e: TeacherEndpoint, over: Partial<DistillConfig> = {}) =>
  planDistill(config(e, over), "c.json", "distill");
const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return "none";
};

describe("endpoint teacher config", () => {
  it("takes an http(s) base URL without credentials and a model; defaults the timeout and the window", () => {
    const p = plan(endpoint({ baseUrl: "http://127.0.0.1:8000/v1/" }));
    expect(p.endpoint).toEqual({
      baseUrl: "http://127.0.0.1:8000/v1",
      model: "m",
      apiKeyEnv: "",
      timeoutMs: 120_000,
      fingerprint: FP,
      promptChars: 40,
    });
    expect(code(() => plan(endpoint({ baseUrl: "127.0.0.1:8000" })))).toBe("DISTILL_ENDPOINT_URL");
    expect(code(() => plan(endpoint({ baseUrl: "ftp://h/v1" })))).toBe("DISTILL_ENDPOINT_URL");
    expect(code(() => plan(endpoint({ baseUrl: "http://u:secret@h/v1" })))).toBe("DISTILL_ENDPOINT_URL");
    expect(code(() => plan(endpoint({ model: "" })))).toBe("DISTILL_ENDPOINT_MODEL");
    expect(code(() => plan(endpoint(), { sampling: { ...config(endpoint()).sampling!, seed: 2 ** 52 } }))).toBe(
      "DISTILL_ENDPOINT_SEED",
    );
  });

  it("refuses to query without a fingerprint, without the network, or without the API key it names", async () => {
    const p = plan(endpoint({ systemFingerprint: "" })).endpoint!;
    await expect(openEndpointTeacher(p, {}, where)).rejects.toMatchObject({ code: "DISTILL_ENDPOINT_FINGERPRINT" });
    const ok = plan(endpoint()).endpoint!;
    await expect(openEndpointTeacher(ok, {}, where)).rejects.toMatchObject({ code: "DISTILL_ENDPOINT_NETWORK" });
    const keyed = plan(endpoint({ apiKeyEnv: "TEACHER_KEY" })).endpoint!;
    await expect(openEndpointTeacher(keyed, { NEXA_STAGE_NETWORK: "1" }, where)).rejects.toMatchObject({
      code: "DISTILL_ENDPOINT_API_KEY",
    });
  });
});

describe("prompt windows for an endpoint", () => {
  const records: TextRecord[] = Array.from({ length: 12 }, (_, i) => ({
    id: `r${i}`,
    text: i === 3 ? "" : "日本 whale café ".repeat(2 + i),
    source: "s",
  }));
  it("cuts seeded windows of whole code points; the same prompts every time, more examples only append", () => {
    const p = plan(endpoint({ promptChars: 9 }), { maxExamples: 5 });
    const a = drawTextPrompts(records, p, 9);
    expect(a.prompts).toHaveLength(5);
    for (const q of a.prompts) {
      expect(Array.from(q.text).length).toBeLessThanOrEqual(9);
      expect(q.record.text).toContain(q.text);
    }
    expect(drawTextPrompts(records, p, 9)).toEqual(a);
    const more = drawTextPrompts(records, plan(endpoint(), { maxExamples: 8 }), 9);
    expect(more.prompts.slice(0, 5).map((q) => q.text)).toEqual(a.prompts.map((q) => q.text));
    const all = drawTextPrompts(records, plan(endpoint()), 9);
    expect(all.emptyPrompts).toBe(1);
    expect(all.prompts).toHaveLength(11);
  });
});

describe("recordings", () => {
  const answer: TeacherAnswer = {
    text: " the sea",
    finishReason: "length",
    promptTokens: 3,
    completionTokens: 2,
    fingerprint: FP,
    model: "m",
  };
  const call = { promptId: "r1#0", body: { model: "m", prompt: "whale", max_tokens: 2, seed: 7, n: 1 } };
  const write = (text: string): string => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "rec-")), "teacher_responses.jsonl");
    writeFileSync(file, text);
    return file;
  };
  const open = (file: string) => openEndpointTeacher(plan(endpoint()).endpoint!, { [RECORDING_ENV]: file }, where);

  it("replays a recorded answer for the same request only (key order does not matter)", async () => {
    const teacher = await open(write(responseLine(call, answer) + "\n"));
    expect(teacher.replaying).toBe(true);
    const reordered = { promptId: "r1#0", body: { n: 1, seed: 7, max_tokens: 2, prompt: "whale", model: "m" } };
    await expect(teacher.complete(reordered)).resolves.toEqual(answer);
    await expect(teacher.complete({ ...call, body: { ...call.body, seed: 8 } })).rejects.toMatchObject({
      code: "DISTILL_RECORDING_MISMATCH",
    });
    await expect(teacher.complete({ ...call, promptId: "r2#0" })).rejects.toMatchObject({
      code: "DISTILL_RECORDING_MISSING",
    });
  });

  it("refuses a damaged recording, naming the line", async () => {
    const good = responseLine(call, answer);
    await expect(open(write(`${good}\n{not json\n`))).rejects.toMatchObject({
      code: "DISTILL_RECORDING_INVALID",
      message: expect.stringContaining("teacher_responses.jsonl:2: not a JSON object"),
    });
    await expect(open(write(`${good}\n${good}\n`))).rejects.toMatchObject({
      message: expect.stringContaining(":2: prompt r1#0 is recorded twice"),
    });
    const noText = JSON.parse(good);
    delete noText.response.text;
    await expect(open(write(JSON.stringify(noText)))).rejects.toMatchObject({ code: "DISTILL_RECORDING_INVALID" });
    await expect(open(path.join(tmpdir(), "no-such-recording.jsonl"))).rejects.toMatchObject({
      code: "DISTILL_RECORDING_UNREADABLE",
    });
  });
});
