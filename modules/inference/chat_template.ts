// The chat template of /v1/chat/completions. The models trained here are base models with no chat format of their
// own, so the server never guesses one: chat is served only with a template file given by --chat-template. The file
// (JSON) says, per role, the text before and after each message's content, the text that opens the assistant's
// reply, and stop strings that end it:
//   {"roles": {"system": {"prefix": "", "suffix": "\n\n"},
//              "user": {"prefix": "User: ", "suffix": "\n"},
//              "assistant": {"prefix": "Assistant: ", "suffix": "\n"}},
//    "generation_prompt": "Assistant:", "stop": ["\nUser:"]}

import { readFileSync } from "fs";
import { createHash } from "crypto";

import { ConfigError } from "@nexa/modules/monitoring";

import type { ChatMessage } from "./generation_request";

export const CHAT_TEMPLATE_INVALID = "SERVE_CHAT_TEMPLATE_INVALID";
const ROLES = ["system", "user", "assistant"] as const;

export interface ChatTemplate {
  file: string;
  /** sha256 of the file's bytes (part of the request log's resolved parameters). */
  digest: string;
  roles: Record<(typeof ROLES)[number], { prefix: string; suffix: string }>;
  generationPrompt: string;
  stop: string[];
}

function fail(file: string, jsonPath: string, message: string): never {
  throw new ConfigError(CHAT_TEMPLATE_INVALID, message, {
    context: { file, jsonPath },
    hint: 'a chat template is {"roles": {"system"|"user"|"assistant": {"prefix", "suffix"}}, "generation_prompt", "stop": [..]} (modules/inference/README.md)',
  });
}

export function loadChatTemplate(file: string): ChatTemplate {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    fail(file, "$", `cannot read the chat template: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    fail(file, "$", `the chat template is not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) fail(file, "$", "must be a JSON object");
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (!["roles", "generation_prompt", "stop"].includes(k)) fail(file, `$.${k}`, `unknown field "${k}"`);
  }
  const str = (v: unknown, at: string): string => {
    if (typeof v !== "string") fail(file, at, "must be a string");
    return v;
  };
  const rolesDoc = d.roles;
  if (typeof rolesDoc !== "object" || rolesDoc === null)
    fail(file, "$.roles", "must be an object with system, user, assistant");
  const roles = {} as ChatTemplate["roles"];
  for (const role of ROLES) {
    const r = (rolesDoc as Record<string, unknown>)[role];
    if (typeof r !== "object" || r === null) fail(file, `$.roles.${role}`, `role "${role}" is missing`);
    const rr = r as Record<string, unknown>;
    roles[role] = {
      prefix: str(rr.prefix ?? "", `$.roles.${role}.prefix`),
      suffix: str(rr.suffix ?? "", `$.roles.${role}.suffix`),
    };
  }
  for (const k of Object.keys(rolesDoc as object)) {
    if (!(ROLES as readonly string[]).includes(k)) fail(file, `$.roles.${k}`, `unknown role "${k}"`);
  }
  const stopDoc = d.stop ?? [];
  if (!Array.isArray(stopDoc)) fail(file, "$.stop", "must be an array of strings");
  const stop = stopDoc.map((s, i) => {
    const v = str(s, `$.stop[${i}]`);
    if (v === "") fail(file, `$.stop[${i}]`, "must not be empty");
    return v;
  });
  return {
    file,
    digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
    roles,
    generationPrompt: str(d.generation_prompt ?? "", "$.generation_prompt"),
    stop,
  };
}

/** The prompt text of a conversation: each message wrapped by its role's prefix and suffix, then the reply's opening. */
export function renderChat(t: ChatTemplate, messages: readonly ChatMessage[]): string {
  return messages.map((m) => t.roles[m.role].prefix + m.content + t.roles[m.role].suffix).join("") + t.generationPrompt;
}
