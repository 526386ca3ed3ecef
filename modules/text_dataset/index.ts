// Public face of modules/text_dataset: the text dataset format (JSONL shards + DatasetManifest).
export {
  DATASET_MANIFEST_FILE,
  DEFAULT_TEXT_FIELD,
  encodeRecord,
  isShardFileName,
  shardFileName,
  sortById,
  TextDataset,
  writeDatasetManifest,
  writeJsonlFile,
  writeSplitShards,
} from "./text_dataset";
export type { DatasetFields, TextRecord } from "./text_dataset";
