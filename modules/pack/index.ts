// Public face of modules/pack: the pack stage and the reader of its packed shard files (.nxpk).
export { packStage, PACKED_MANIFEST_FILE } from "./pack_stage";
export { decodePackedShard, encodePackedShard, PACKED_FORMAT_VERSION, PACKED_MAGIC, PACKED_PAD_DOC_ID, readPackedShard } from "./shard_format";
export type { PackedShard, PackedShardHeader } from "./shard_format";
export { END_OF_TEXT, TOKENIZER_HF_FILE, TOKENIZER_MANIFEST_FILE, TOKENIZER_NATIVE_FILE } from "./tokenizer";
