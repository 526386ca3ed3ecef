// Public face of modules/checkpoint: the checkpoint directory format (CheckpointManifest + weights + curve + tokenizer).
export {
  Checkpoint,
  CHECKPOINT_MANIFEST_FILE,
  loadCheckpoint,
  parseCurve,
  TRAINING_CURVE_FILE,
  WEIGHTS_FILE,
  WEIGHTS_MEDIA_TYPE,
  writeCheckpoint,
} from "./checkpoint";
export type { CheckpointFields, CurveLine, CurvePoint, LoadedCheckpoint } from "./checkpoint";
