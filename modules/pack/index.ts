// Public face of modules/pack: the pack stage (its shard format lives in modules/packed_shards).
export { packStage, PACKED_MANIFEST_FILE } from "./pack_stage";
export { END_OF_TEXT, TOKENIZER_HF_FILE, TOKENIZER_MANIFEST_FILE, TOKENIZER_NATIVE_FILE } from "./tokenizer";
