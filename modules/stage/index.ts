// Public face of modules/stage: the runtime every module's stage entry point runs under.
export { parseStageArgs } from "./args";
export type { InputArg, StageArgs } from "./args";
export { inputDisplay, inputOrigin, openInput, readInputOutput } from "./input";
export { listDataFiles, runStage, runStageMain, STAGE_MANIFEST_SCHEMA, stageThreads, THREADS_ENV } from "./runtime";
export type { RunOptions, StageContext, StageDefinition, StageInput, StageOutcome, StageResult } from "./runtime";
