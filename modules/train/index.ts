// Public face of modules/train: the train stage (its product, the checkpoint directory, is modules/checkpoint's format).
export { createTrainStage, trainStage } from "./train_stage";
export type { TrainStageOptions } from "./train_stage";
