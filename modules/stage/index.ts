// Public face of modules/stage: the runtime every module's stage entry point runs under.
export { parseStageArgs } from "./args";
export type { InputArg, StageArgs } from "./args";
export { inputOrigin, openInput } from "./input";
export { listDataFiles, runStage, runStageMain, STAGE_MANIFEST_SCHEMA, stageThreads, THREADS_ENV } from "./runtime";
export type { RunOptions, StageContext, StageDefinition, StageInput, StageOutcome, StageResult } from "./runtime";
