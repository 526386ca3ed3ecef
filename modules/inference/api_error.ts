// Errors of the HTTP API in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with the HTTP status
// that goes with them. Every refusal the server makes is one of these; anything else that escapes a handler is a
// 500 "server_error" whose message names what failed (never a bare "internal error").

/** OpenAI's error types, by the statuses that use them. */
export type ApiErrorType =
  | "invalid_request_error" // 400, 404, 413, 415
  | "authentication_error" // 401
  | "rate_limit_error" // 429
  | "server_error" // 500, 503, 504
  | "timeout_error"; // 504

export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    readonly code: string | null,
    message: string,
    readonly param: string | null = null,
    /** Extra response headers (Retry-After on 429/503). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 for a request field: `param` is its JSON path ("messages[1].content"). */
export function invalidField(param: string, message: string, code = "invalid_value"): ApiError {
  return new ApiError(400, "invalid_request_error", code, message, param);
}
