// Public face of modules/inference: the OpenAI-compatible server of a checkpoint, and replay of its request log.
export { ApiError } from "./api_error";
export type { ApiErrorBody } from "./api_error";
export { CHAT_TEMPLATE_INVALID, loadChatTemplate, renderChat } from "./chat_template";
export type { ChatTemplate } from "./chat_template";
export { Engine } from "./engine";
export { outputDigest, REQUEST_LOG_FORMAT, RequestLog } from "./request_log";
export type { RequestLogEntry } from "./request_log";
export { serve, SERVE_DEFAULTS } from "./serve";
export type { RunningServer, ServeOptions } from "./serve";
export {
  defineServeCommand,
  resolveServeCheckpoint,
  runServeCommand,
  serveOptions,
  serveUntilSignal,
} from "./serve_command";
export { InferenceServer } from "./server";
export { StopMatcher } from "./stop_strings";
export { logFiles, REPLAY_INVALID_LOG, replayEntry } from "./replay";
export type { ReplayResult } from "./replay";
