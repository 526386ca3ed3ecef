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
export {
  exportHf,
  HF_EXPORT_INVALID,
  HF_EXPORT_NOT_CHECKPOINT,
  HF_EXPORT_TARGET,
  hfExportFiles,
  hfWeights,
  openCheckpointDir,
  parseSafetensors,
  writeSafetensors,
} from "./hf_export";
export type { HfExportOrigin, HfModelShape, SafeTensor, SafeTensors } from "./hf_export";
