// Public face of modules/distill: the distill stage (its entry point is main.ts).
export { distillStage } from "./distill_stage";
export { TRAIN_SPLIT } from "./dataset_io";
export type { DistilledRecord } from "./dataset_io";
export { DROP_REASONS } from "./gate";
