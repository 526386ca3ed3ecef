// Public face of modules/pack: the pack stage (its formats live in modules/packed_shards and modules/tokenizer_files).
export { packStage, PACKED_MANIFEST_FILE } from "./pack_stage";
export { END_OF_TEXT } from "./tokenizer";
