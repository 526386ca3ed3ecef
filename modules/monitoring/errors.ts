// The one error vocabulary of NexaCompute's TypeScript code.
//
// Every error raised on purpose is a NexaError (or a subclass): a stable machine-readable `code`, context
// fields that locate the problem (file, line, JSON path, stage, run), a `hint` that says how to fix it, and
// the `cause` chain. The message is prefixed with the location so a one-line print is already actionable:
//   dataset.json: $.shards[2].digest: expected string, found number

// ----------------------------------------------------------------------------------------------------------
// context

/** Where an error happened. All fields optional; set every one you know. */
export interface ErrorContext {
  /** File the problem is in (workspace-relative or as given by the caller; never invented). */
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  /** 1-based column in `line` (printed only with a line). */
  column?: number;
  /** JSON path inside `file`, e.g. "$.shards[2].digest". */
  jsonPath?: string;
  /** Stage name, e.g. "pack". */
  stage?: string;
  /** Stage identity (64 hex). */
  stageId?: string;
  /** Run identity (64 hex). */
  runId?: string;
  /** Bazel target or module, e.g. "//pipelines:golden". */
  target?: string;
  /** Further scalar facts (expected/actual digests, versions, paths...). */
  [key: string]: string | number | boolean | undefined;
}

export interface NexaErrorOptions {
  context?: ErrorContext;
  /** How to fix it, addressed to the operator. */
  hint?: string;
  /** The error that led to this one. */
  cause?: unknown;
}

/** JSON form of an error, as written into log lines. */
export interface ErrorJson {
  name: string;
  code: string;
  message: string;
  context: ErrorContext;
  hint?: string;
  cause?: ErrorJson | { name: string; message: string };
}

// ----------------------------------------------------------------------------------------------------------
// base class

/** Prefix "file:line: $.path: " built from the context (empty when neither is known). */
function locationPrefix(ctx: ErrorContext): string {
  const parts: string[] = [];
  if (ctx.file !== undefined) {
    const column = ctx.line !== undefined && ctx.column !== undefined ? `:${ctx.column}` : "";
    parts.push(ctx.line !== undefined ? `${ctx.file}:${ctx.line}${column}` : ctx.file);
  }
  if (ctx.jsonPath !== undefined) parts.push(ctx.jsonPath);
  return parts.length > 0 ? parts.join(": ") + ": " : "";
}

export class NexaError extends Error {
  /** Stable SCREAMING_SNAKE code, e.g. "MANIFEST_UNKNOWN_FIELD". Tests and tools match on it. */
  readonly code: string;
  /** Location and facts; see ErrorContext. */
  readonly context: ErrorContext;
  /** How to fix it. */
  readonly hint?: string;
  /** The message without the location prefix. */
  readonly detail: string;

  constructor(code: string, message: string, options: NexaErrorOptions = {}) {
    const context = { ...(options.context ?? {}) };
    super(locationPrefix(context) + message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
    this.hint = options.hint;
    this.detail = message;
  }

  /** Fills context fields that are not set yet (e.g. stage/runId at a stage boundary); returns this. */
  addContext(context: ErrorContext): this {
    for (const [key, value] of Object.entries(context)) {
      if (value !== undefined && this.context[key] === undefined) this.context[key] = value;
    }
    return this;
  }

  toJSON(): ErrorJson {
    const out: ErrorJson = { name: this.name, code: this.code, message: this.message, context: { ...this.context } };
    if (this.hint !== undefined) out.hint = this.hint;
    if (this.cause !== undefined) out.cause = errorToJson(this.cause);
    return out;
  }
}

// ----------------------------------------------------------------------------------------------------------
// subclasses: one per failure domain

/** A stage config or CLI option is invalid. */
export class ConfigError extends NexaError {}
/** A manifest cannot be decoded or fails validation (unknown field, wrong type, unsupported schema_version). */
export class ManifestError extends NexaError {}
/** Bytes do not match their recorded digest or size. */
export class IntegrityError extends NexaError {}
/** The artifact store or its index failed (missing blob, I/O, HTTP, SQLite). */
export class RegistryError extends NexaError {}

// ----------------------------------------------------------------------------------------------------------
// helpers

/** JSON form of any thrown value (NexaError keeps its code/context/hint; others keep name/message). */
export function errorToJson(err: unknown): ErrorJson | { name: string; message: string } {
  if (err instanceof NexaError) return err.toJSON();
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "NonError", message: String(err) };
}

/**
 * Returns `err` if it is a NexaError. An error from a layer that cannot import this class but speaks the same
 * vocabulary (the kernels binding's KernelError: string `code` and `hint`) keeps its code and hint; anything else
 * is wrapped as code "INTERNAL". The original error is always the cause.
 */
export function toNexaError(err: unknown, context: ErrorContext = {}): NexaError {
  if (err instanceof NexaError) return err.addContext(context);
  const message = err instanceof Error ? err.message : String(err);
  const coded = err as { code?: unknown; hint?: unknown } | null;
  if (err instanceof Error && typeof coded?.code === "string" && /^[A-Z][A-Z0-9_]+$/.test(coded.code)) {
    return new NexaError(coded.code, message, {
      context,
      cause: err,
      hint: typeof coded.hint === "string" ? coded.hint : undefined,
    });
  }
  return new NexaError("INTERNAL", message, {
    context,
    cause: err,
    hint: "this is a bug unless the cause says otherwise",
  });
}

/** Multi-line rendering for terminals: "[CODE] message", the hint, then each cause. */
export function formatError(err: unknown): string {
  const lines: string[] = [];
  let current: unknown = err;
  let depth = 0;
  while (current !== undefined && depth < 16) {
    const indent = depth === 0 ? "" : "  ".repeat(depth) + "caused by: ";
    if (current instanceof NexaError) {
      lines.push(`${indent}[${current.code}] ${current.message}`);
      if (current.hint !== undefined) lines.push(`${"  ".repeat(depth + 1)}hint: ${current.hint}`);
    } else if (current instanceof Error) {
      lines.push(`${indent}${current.name}: ${current.message}`);
    } else {
      lines.push(`${indent}${String(current)}`);
    }
    current = current instanceof Error ? current.cause : undefined;
    depth += 1;
  }
  return lines.join("\n");
}
