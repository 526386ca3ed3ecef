// Public face of modules/stage: the runtime every module's stage entry point runs under.
export { parseStageArgs } from "./args";
export type { InputArg, StageArgs } from "./args";
export { listDataFiles, runStage, runStageMain, STAGE_MANIFEST_SCHEMA } from "./runtime";
export type { StageContext, StageDefinition, StageInput, StageOutcome, StageResult } from "./runtime";
