// Reading a request body field by field: every field has a declared type and range, an unknown field or a wrong
// type is a 400 naming the field (its JSON path), and a field OpenAI defines but this server does not implement is
// accepted only at its no-op value (so clients that send defaults keep working, and nothing is silently ignored).

import { invalidField } from "./api_error";

type Json = unknown;

const kind = (v: Json): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/** The fields of one JSON object (the body, or a nested object such as a chat message). */
export class Fields {
  private readonly obj: Record<string, Json>;

  /** `path` prefixes field names in messages ("" for the body, "messages[0]" for a message). */
  constructor(
    value: Json,
    private readonly path: string,
    allowed: readonly string[],
    what: string,
  ) {
    if (kind(value) !== "object") {
      throw invalidField(path || "body", `${what} must be a JSON object, not ${kind(value)}`, "invalid_type");
    }
    this.obj = value as Record<string, Json>;
    for (const key of Object.keys(this.obj)) {
      if (!allowed.includes(key)) {
        throw invalidField(
          this.name(key),
          `unknown field \`${this.name(key)}\` in ${what}; its fields are: ${allowed.join(", ")}`,
          "unknown_field",
        );
      }
    }
  }

  name(key: string): string {
    return this.path === "" ? key : `${this.path}.${key}`;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): Json {
    return this.obj[key];
  }

  private typeError(key: string, want: string): Error {
    return invalidField(
      this.name(key),
      `\`${this.name(key)}\` must be ${want}, not ${kind(this.obj[key])}`,
      "invalid_type",
    );
  }

  string(key: string, required: true): string;
  string(key: string, required?: false): string | undefined;
  string(key: string, required = false): string | undefined {
    if (!this.has(key)) {
      if (required) throw invalidField(this.name(key), `\`${this.name(key)}\` is required`, "missing_field");
      return undefined;
    }
    const v = this.obj[key];
    if (typeof v !== "string") throw this.typeError(key, "a string");
    return v;
  }

  boolean(key: string, def: boolean): boolean {
    if (!this.has(key)) return def;
    const v = this.obj[key];
    if (typeof v !== "boolean") throw this.typeError(key, "true or false");
    return v;
  }

  /** A number in [min, max]. */
  number(key: string, def: number, min: number, max: number): number {
    if (!this.has(key)) return def;
    const v = this.obj[key];
    if (typeof v !== "number" || !Number.isFinite(v)) throw this.typeError(key, "a number");
    if (v < min || v > max) {
      throw invalidField(this.name(key), `\`${this.name(key)}\` is ${v}; it must be in [${min}, ${max}]`);
    }
    return v;
  }

  /** An integer in [min, max]; `limitName` names the server flag that sets max, when one does. */
  integer(key: string, def: number | undefined, min: number, max: number, limitName?: string): number | undefined {
    if (!this.has(key)) return def;
    const v = this.obj[key];
    if (typeof v !== "number" || !Number.isSafeInteger(v)) throw this.typeError(key, "an integer");
    if (v < min || v > max) {
      const limit = limitName && v > max ? ` (this server's limit, set by ${limitName})` : "";
      throw invalidField(this.name(key), `\`${this.name(key)}\` is ${v}; it must be in [${min}, ${max}]${limit}`);
    }
    return v;
  }

  /** A field this server does not implement: accepted only when absent or equal to `noop`. */
  noop(key: string, noop: Json, what: string): void {
    if (!this.has(key)) return;
    const v = this.obj[key];
    if (JSON.stringify(v) !== JSON.stringify(noop)) {
      throw invalidField(
        this.name(key),
        `\`${this.name(key)}\` is not supported by this server (${what}); omit it or send ${JSON.stringify(noop)}`,
        "unsupported_parameter",
      );
    }
  }

  /** `stop`: a string or up to `max` strings, none empty. */
  stop(key: string, max: number): string[] {
    if (!this.has(key)) return [];
    const v = this.obj[key];
    const list = typeof v === "string" ? [v] : v;
    if (!Array.isArray(list) || list.some((s) => typeof s !== "string")) {
      throw this.typeError(key, "a string or an array of strings");
    }
    if (list.length > max) {
      throw invalidField(
        this.name(key),
        `\`${this.name(key)}\` holds ${list.length} strings; at most ${max} are allowed (--max-stop)`,
      );
    }
    list.forEach((s: string, i: number) => {
      if (s === "") throw invalidField(`${this.name(key)}[${i}]`, `\`${this.name(key)}[${i}]\` is empty`);
    });
    return list as string[];
  }
}
