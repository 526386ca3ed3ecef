// Public face of modules/data: the data stage (raw files → DatasetManifest + JSONL shards).
export { dataStage } from "./data_stage";
