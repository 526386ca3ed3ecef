// Public face of modules/monitoring: the error hierarchy, the structured logger and progress reporting.
export {
  ConfigError,
  errorToJson,
  formatError,
  IntegrityError,
  ManifestError,
  NexaError,
  RegistryError,
  toNexaError,
} from "./errors";
export type { ErrorContext, ErrorJson, NexaErrorOptions } from "./errors";
export { createLogger } from "./logger";
export type { LogFields, LoggerOptions, LogLevel, NexaLogger } from "./logger";
export { createProgress } from "./progress";
export type { Progress, ProgressExtra, ProgressOptions } from "./progress";
export {
  NO_PROGRESS,
  openProgressSink,
  outputBaseOf,
  progressDir,
  progressFileName,
  stageProgressSink,
} from "./progress_file";
export type { ProgressRecord, ProgressSink, ProgressSinkOptions, StageRunState } from "./progress_file";
