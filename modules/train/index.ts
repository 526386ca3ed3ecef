// Public face of modules/train: the train stage and the names of the files it writes.
export {
  CHECKPOINT_MANIFEST_FILE, createTrainStage, DEFAULT_THREADS, METRICS_FILE, trainStage, WEIGHTS_FILE,
} from "./train_stage";
export type { TrainStageOptions } from "./train_stage";
