// An endpoint teacher: an OpenAI-compatible server (POST <base_url>/completions) queried over HTTP, or the responses
// an earlier query recorded, replayed without a network. Every answer is recorded (request body as sent, the
// completion, finish reason, usage, system_fingerprint and model) in `teacher_responses.jsonl` next to the distilled
// shards, so the artifact holds everything its text came from.
//
// The stage's identity is its config, inputs and tools (modules/stage); a server is none of those, so the config
// must name the server's `system_fingerprint` and every response must carry it. Querying needs the network, which a
// stage action has only when its target says so (`network = True` on the distill_stage target sets
// NEXA_STAGE_NETWORK=1 and tags the action requires-network, no-remote, no-sandbox); a target with
// `recording = "<teacher_responses.jsonl>"` replays that file instead (NEXA_TEACHER_RECORDING), hermetically.

import { readFileSync } from "fs";
import { setTimeout as sleep } from "timers/promises";

import { canonicalJson } from "@nexa/modules/manifest";
import { ConfigError, NexaError } from "@nexa/modules/monitoring";
import type { TeacherEndpoint } from "@nexa/proto/nexa/v1/distill";

/** The recorded responses, one JSON object a line, in drawn order. */
export const RESPONSES_FILE = "teacher_responses.jsonl";
/** Version of a recorded line's layout (its `format` field). */
export const RESPONSES_FORMAT = "nexa.distill.teacher_response.v1";
/** Per-request timeout when the config gives none. */
export const DEFAULT_TIMEOUT_MS = 120_000;
/** 429 / 503 answers waited out (Retry-After, at most RETRY_CAP_S each) before the stage fails. */
export const MAX_RETRIES = 8;
const RETRY_CAP_S = 30;
/** Set to "1" by a distill_stage target with `network = True`. */
export const NETWORK_ENV = "NEXA_STAGE_NETWORK";
/** The recording a distill_stage target with `recording = …` replays. */
export const RECORDING_ENV = "NEXA_TEACHER_RECORDING";

/** The endpoint part of a DistillPlan. */
export interface EndpointPlan {
  baseUrl: string;
  model: string;
  apiKeyEnv: string;
  timeoutMs: number;
  fingerprint: string;
  promptChars: number;
}

/** One request: the prompt id it answers and the body sent. */
export interface TeacherCall {
  promptId: string;
  body: Record<string, unknown>;
}

/** One answer, as recorded. */
export interface TeacherAnswer {
  text: string;
  finishReason: string;
  promptTokens: number;
  completionTokens: number;
  fingerprint: string;
  model: string;
}

/** A line of teacher_responses.jsonl. */
export function responseLine(call: TeacherCall, a: TeacherAnswer): string {
  return canonicalJson({
    format: RESPONSES_FORMAT,
    prompt_id: call.promptId,
    request: call.body,
    response: {
      text: a.text,
      finish_reason: a.finishReason,
      usage: { prompt_tokens: a.promptTokens, completion_tokens: a.completionTokens },
      system_fingerprint: a.fingerprint,
      model: a.model,
    },
  });
}

export interface EndpointTeacher {
  /** Where answers come from: the base URL, or the recording's path. */
  readonly source: string;
  readonly replaying: boolean;
  complete(call: TeacherCall): Promise<TeacherAnswer>;
}

type Where = { file: string; stage: string };

/** The plan's endpoint fields checked; `sampling.max_tokens` sets the default window. */
export function planEndpoint(e: TeacherEndpoint, maxTokens: number, where: Where): EndpointPlan {
  const fail = (code: string, jsonPath: string, message: string, hint: string): never => {
    throw new ConfigError(code, message, { context: { ...where, jsonPath }, hint });
  };
  let url: URL | undefined;
  try {
    url = new URL(e.baseUrl);
  } catch {
    // reported below
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    fail(
      "DISTILL_ENDPOINT_URL",
      "$.teacher.endpoint.baseUrl",
      `base_url ${JSON.stringify(e.baseUrl)} is not an http(s) URL`,
      'set e.g. "baseUrl": "http://127.0.0.1:8000/v1" (the prefix before /completions)',
    );
  }
  if (url!.username !== "" || url!.password !== "") {
    fail(
      "DISTILL_ENDPOINT_URL",
      "$.teacher.endpoint.baseUrl",
      "base_url holds credentials; it is recorded in the artifact",
      'put the key in an environment variable and name it in "apiKeyEnv"',
    );
  }
  if (e.model === "") {
    fail(
      "DISTILL_ENDPOINT_MODEL",
      "$.teacher.endpoint.model",
      "the endpoint teacher names no model",
      `set "model" to one of the ids GET ${e.baseUrl.replace(/\/$/, "")}/models lists`,
    );
  }
  return {
    baseUrl: e.baseUrl.replace(/\/+$/, ""),
    model: e.model,
    apiKeyEnv: e.apiKeyEnv,
    timeoutMs: e.timeoutMs === 0 ? DEFAULT_TIMEOUT_MS : e.timeoutMs,
    fingerprint: e.systemFingerprint,
    promptChars: e.promptChars === 0 ? 4 * maxTokens : e.promptChars,
  };
}

// ----------------------------------------------------------------------------------------------------------
// HTTP

interface Reply {
  status: number;
  headers: Headers;
  json: unknown;
}

/** The OpenAI error object's message, when the body is one. */
function errorMessage(json: unknown): string {
  const e = (json as { error?: { message?: unknown; code?: unknown } } | null)?.error;
  if (e && typeof e.message === "string") return typeof e.code === "string" ? `${e.code}: ${e.message}` : e.message;
  return JSON.stringify(json)?.slice(0, 300) ?? "";
}

class HttpTeacher implements EndpointTeacher {
  readonly replaying = false;
  readonly source: string;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly plan: EndpointPlan,
    env: NodeJS.ProcessEnv,
    private readonly where: Where,
  ) {
    this.source = plan.baseUrl;
    this.headers = { "content-type": "application/json" };
    if (plan.apiKeyEnv !== "") {
      const key = env[plan.apiKeyEnv];
      if (key === undefined || key === "") {
        throw new ConfigError(
          "DISTILL_ENDPOINT_API_KEY",
          `the environment variable ${plan.apiKeyEnv} (teacher.endpoint.apiKeyEnv) is not set`,
          {
            context: { ...where, jsonPath: "$.teacher.endpoint.apiKeyEnv" },
            hint: `export ${plan.apiKeyEnv}=… and pass it to the action: build with --action_env=${plan.apiKeyEnv}`,
          },
        );
      }
      this.headers.authorization = `Bearer ${key}`;
    }
  }

  private async send(method: "GET" | "POST", path: string, body?: unknown): Promise<Reply> {
    const url = `${this.plan.baseUrl}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: this.headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.plan.timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      throw new NexaError(
        timedOut ? "DISTILL_ENDPOINT_TIMEOUT" : "DISTILL_ENDPOINT_UNREACHABLE",
        timedOut
          ? `${method} ${url} did not answer within ${this.plan.timeoutMs} ms`
          : `${method} ${url} failed: ${err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err)}`,
        {
          context: { ...this.where, url },
          cause: err,
          hint: timedOut
            ? "raise teacher.endpoint.timeoutMs, or lower sampling.maxTokens"
            : "start the teacher server (e.g. `npx nexa serve <checkpoint> --port 8000`) and check teacher.endpoint.baseUrl",
        },
      );
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, headers: res.headers, json };
  }

  /** The fingerprint the server reports in GET /models (NexaInference: data[].nexa.system_fingerprint), if any. */
  async reportedFingerprint(): Promise<string | undefined> {
    const r = await this.send("GET", "/models");
    if (r.status !== 200) return undefined;
    const data = (r.json as { data?: { id?: string; nexa?: { system_fingerprint?: string; aliases?: string[] } }[] })
      ?.data;
    const m = data?.find((d) => d.id === this.plan.model || d.nexa?.aliases?.includes(this.plan.model)) ?? data?.[0];
    return m?.nexa?.system_fingerprint;
  }

  async complete(call: TeacherCall): Promise<TeacherAnswer> {
    for (let attempt = 0; ; attempt++) {
      const r = await this.send("POST", "/completions", call.body);
      if ((r.status === 429 || r.status === 503) && attempt < MAX_RETRIES) {
        const after = Number(r.headers.get("retry-after"));
        await sleep(1000 * Math.min(RETRY_CAP_S, Number.isFinite(after) && after > 0 ? after : 2 ** attempt));
        continue;
      }
      if (r.status !== 200) {
        const client = r.status >= 400 && r.status < 500;
        throw new NexaError(
          client ? "DISTILL_ENDPOINT_REJECTED" : "DISTILL_ENDPOINT_FAILED",
          `the teacher answered prompt ${call.promptId} with HTTP ${r.status}: ${errorMessage(r.json)}`,
          {
            context: { ...this.where, url: `${this.plan.baseUrl}/completions`, prompt_id: call.promptId },
            hint: client
              ? "fix the request the message names (context_length_exceeded: lower teacher.endpoint.promptChars or sampling.maxTokens)"
              : "check the teacher server's log; rerun when it answers",
          },
        );
      }
      return this.answer(call, r.json);
    }
  }

  private answer(call: TeacherCall, json: unknown): TeacherAnswer {
    const j = json as {
      model?: unknown;
      system_fingerprint?: unknown;
      choices?: { text?: unknown; finish_reason?: unknown }[];
      usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
    };
    const choice = Array.isArray(j?.choices) && j.choices.length === 1 ? j.choices[0] : undefined;
    if (choice === undefined || typeof choice.text !== "string" || typeof choice.finish_reason !== "string") {
      throw new NexaError(
        "DISTILL_ENDPOINT_RESPONSE",
        `the teacher's answer to prompt ${call.promptId} is not a completion with one choice: ${JSON.stringify(json)?.slice(0, 300)}`,
        {
          context: { ...this.where, url: `${this.plan.baseUrl}/completions`, prompt_id: call.promptId },
          hint: "point teacher.endpoint.baseUrl at an OpenAI-compatible server (POST /completions)",
        },
      );
    }
    const num = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) ? v : 0);
    return {
      text: choice.text,
      finishReason: choice.finish_reason,
      promptTokens: num(j.usage?.prompt_tokens),
      completionTokens: num(j.usage?.completion_tokens),
      fingerprint: typeof j.system_fingerprint === "string" ? j.system_fingerprint : "",
      model: typeof j.model === "string" ? j.model : "",
    };
  }
}

// ----------------------------------------------------------------------------------------------------------
// replay

class RecordedTeacher implements EndpointTeacher {
  readonly replaying = true;
  private readonly byPrompt = new Map<string, { line: number; request: string; answer: TeacherAnswer }>();

  constructor(
    readonly source: string,
    private readonly where: Where,
  ) {
    let text: string;
    try {
      text = readFileSync(source, "utf8");
    } catch (err) {
      throw new ConfigError("DISTILL_RECORDING_UNREADABLE", `cannot read the teacher recording ${source}`, {
        context: { ...where, file: source },
        cause: err,
        hint: `the recording is the ${RESPONSES_FILE} of an earlier distill artifact; check the target's \`recording\``,
      });
    }
    const bad = (line: number, why: string): never => {
      throw new ConfigError("DISTILL_RECORDING_INVALID", `${source}:${line}: ${why}`, {
        context: { ...where, file: source, line },
        hint: `give the unmodified ${RESPONSES_FILE} of a distill stage with the same config`,
      });
    };
    text.split("\n").forEach((raw, i) => {
      if (raw === "") return;
      let o: {
        format?: unknown;
        prompt_id?: unknown;
        request?: unknown;
        response?: {
          text?: unknown;
          finish_reason?: unknown;
          usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
          system_fingerprint?: unknown;
          model?: unknown;
        };
      };
      try {
        o = JSON.parse(raw);
      } catch {
        return bad(i + 1, "not a JSON object");
      }
      if (o.format !== RESPONSES_FORMAT)
        bad(i + 1, `format is ${JSON.stringify(o.format)}, expected "${RESPONSES_FORMAT}"`);
      const r = o.response;
      if (
        typeof o.prompt_id !== "string" ||
        typeof o.request !== "object" ||
        typeof r?.text !== "string" ||
        typeof r.finish_reason !== "string" ||
        typeof r.system_fingerprint !== "string" ||
        typeof r.model !== "string" ||
        typeof r.usage?.prompt_tokens !== "number" ||
        typeof r.usage?.completion_tokens !== "number"
      ) {
        return bad(
          i + 1,
          "missing or ill-typed fields (prompt_id, request, response.{text, finish_reason, usage, system_fingerprint, model})",
        );
      }
      if (this.byPrompt.has(o.prompt_id)) bad(i + 1, `prompt ${o.prompt_id} is recorded twice`);
      this.byPrompt.set(o.prompt_id, {
        line: i + 1,
        request: canonicalJson(o.request),
        answer: {
          text: r.text,
          finishReason: r.finish_reason,
          promptTokens: r.usage.prompt_tokens,
          completionTokens: r.usage.completion_tokens,
          fingerprint: r.system_fingerprint,
          model: r.model,
        },
      });
    });
  }

  complete(call: TeacherCall): Promise<TeacherAnswer> {
    const rec = this.byPrompt.get(call.promptId);
    if (rec === undefined) {
      return Promise.reject(
        new ConfigError("DISTILL_RECORDING_MISSING", `${this.source} has no response for prompt ${call.promptId}`, {
          context: { ...this.where, file: this.source, prompt_id: call.promptId },
          hint: "the config or the dataset changed since the recording: query the endpoint again (network = True, no recording)",
        }),
      );
    }
    const sent = canonicalJson(call.body);
    if (rec.request !== sent) {
      return Promise.reject(
        new ConfigError(
          "DISTILL_RECORDING_MISMATCH",
          `${this.source}:${rec.line}: prompt ${call.promptId} was recorded for the request ${rec.request}, this stage sends ${sent}`,
          {
            context: { ...this.where, file: this.source, line: rec.line, prompt_id: call.promptId },
            hint: "the config changed since the recording: restore it, or query the endpoint again (network = True, no recording)",
          },
        ),
      );
    }
    return Promise.resolve(rec.answer);
  }
}

// ----------------------------------------------------------------------------------------------------------
// opening

/**
 * The teacher an endpoint config names: the recording in NEXA_TEACHER_RECORDING when set, else the server (only with
 * NEXA_STAGE_NETWORK=1). Refuses a config without `system_fingerprint`, naming the one the server reports now.
 */
export async function openEndpointTeacher(
  plan: EndpointPlan,
  env: NodeJS.ProcessEnv,
  where: Where,
): Promise<EndpointTeacher> {
  const recording = env[RECORDING_ENV];
  const http = recording ? undefined : new HttpTeacher(plan, env, where);
  if (plan.fingerprint === "") {
    const now = http && env[NETWORK_ENV] === "1" ? await http.reportedFingerprint().catch(() => undefined) : undefined;
    throw new ConfigError(
      "DISTILL_ENDPOINT_FINGERPRINT",
      `the endpoint teacher ${plan.baseUrl} has no system_fingerprint in the config: without it the stage's identity would not name its teacher`,
      {
        context: { ...where, jsonPath: "$.teacher.endpoint.systemFingerprint" },
        hint: now
          ? `the server reports ${now} now: set "systemFingerprint": "${now}"`
          : `set "systemFingerprint" to the system_fingerprint the server returns (GET ${plan.baseUrl}/models with nexa serve, or any completion's response)`,
      },
    );
  }
  if (recording) return new RecordedTeacher(recording, where);
  if (env[NETWORK_ENV] !== "1") {
    throw new ConfigError(
      "DISTILL_ENDPOINT_NETWORK",
      `stage ${where.stage} queries ${plan.baseUrl}, but its action has no network`,
      {
        context: { ...where, jsonPath: "$.teacher.endpoint" },
        hint: 'set `network = True` on the distill_stage target (the action is then never remote or sandboxed), or replay an earlier answer with `recording = "…/teacher_responses.jsonl"`',
      },
    );
  }
  return http!;
}

/** Checks an answer's fingerprint against the config's. */
export function checkFingerprint(
  plan: EndpointPlan,
  call: TeacherCall,
  a: TeacherAnswer,
  where: Where,
  source: string,
): void {
  if (a.fingerprint === plan.fingerprint) return;
  throw new ConfigError(
    "DISTILL_ENDPOINT_FINGERPRINT_CHANGED",
    `the answer to prompt ${call.promptId} from ${source} has system_fingerprint ${JSON.stringify(a.fingerprint)}, the config names ${plan.fingerprint}`,
    {
      context: { ...where, jsonPath: "$.teacher.endpoint.systemFingerprint", prompt_id: call.promptId },
      hint: a.fingerprint
        ? `the server now runs another model or build; if that is the teacher you want, set "systemFingerprint": "${a.fingerprint}"`
        : "the server returns no system_fingerprint; use a server that identifies its model (nexa serve does)",
    },
  );
}
