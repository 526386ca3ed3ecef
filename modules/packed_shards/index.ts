// Public face of modules/packed_shards: the .nxpk packed shard format (writer and verifying reader) and the reader of
// a packed dataset (PackedDatasetManifest + its bins).
export { PackedDataset } from "./packed_dataset";
export type { ShardRows, SplitBin, SplitRows } from "./packed_dataset";
export {
  decodePackedShard,
  encodePackedShard,
  PACKED_FORMAT_VERSION,
  PACKED_HEADER_BYTES,
  PACKED_MAGIC,
  PACKED_PAD_DOC_ID,
  readPackedShard,
} from "./shard_format";
export type { PackedShard, PackedShardHeader } from "./shard_format";
