// Reading a packed dataset: the PackedDatasetManifest (`packed.json`) and its bins, each `.nxpk` file verified
// against the manifest's listing (modules/manifest artifact read), then its own header and payload digest
// (shard_format.ts), then the header against the manifest's seq_len, pad_id and sequence count. The train and eval
// stages read packed data only through this.

import { ARTIFACT_INTEGRITY } from "@nexa/modules/manifest";
import type { Artifact } from "@nexa/modules/manifest";
import { IntegrityError } from "@nexa/modules/monitoring";
import type { PackedBin, PackedDatasetManifest } from "@nexa/proto/nexa/v1/packed_dataset";

import { decodePackedShard, PACKED_PAD_DOC_ID } from "./shard_format";

/** One bin file of a split, with its index in the manifest's `bins` (for error paths). */
export interface SplitBin {
  bin: PackedBin;
  index: number;
}

/** One verified shard: header fields and [bins × seqLen] row-major arrays. */
export interface ShardRows {
  seqLen: number;
  bins: number;
  padId: number;
  tokens: Uint32Array;
  docIds: Uint32Array;
}

/** All rows of one split, shards concatenated in manifest order: [rows × seqLen] each. */
export interface SplitRows {
  rows: number;
  tokens: Uint32Array;
  docIds: Uint32Array;
  /** Non-padding tokens per row. */
  rowTokens: Uint32Array;
}

/** An opened packed dataset (its manifest verified; bins read on demand, verified). */
export class PackedDataset {
  constructor(readonly artifact: Artifact<PackedDatasetManifest>) {}

  get manifest(): PackedDatasetManifest {
    return this.artifact.message;
  }

  /** The bins of `split`, in manifest order. */
  splitBins(split: string): SplitBin[] {
    return this.manifest.bins.map((bin, index) => ({ bin, index })).filter((b) => b.bin.split === split);
  }

  /** Reads one bin file and checks it against the manifest (digest and size, then seq_len, pad_id, sequence count). */
  async readBin(entry: SplitBin): Promise<ShardRows> {
    const m = this.manifest;
    const jsonPath = `$.bins[${entry.index}]`;
    const file = entry.bin.file!;
    const bytes = await this.artifact.read(file, `${jsonPath}.file`);
    const shard = decodePackedShard(bytes, file.path);
    const rows: ShardRows = { ...shard.header, tokens: shard.tokens, docIds: shard.docIds };
    const origin = this.artifact.origin;
    const mismatch = (field: string, header: number, manifest: number): never => {
      throw new IntegrityError(
        ARTIFACT_INTEGRITY,
        `${file.path} (from ${origin.source}): header ${field} ${header} differs from the manifest's ${manifest}`,
        {
          context: {
            file: this.artifact.display,
            jsonPath,
            path: file.path,
            reason: "header",
            ...(origin.context ?? {}),
          },
          hint: `the shard and the manifest come from different pack runs; ${origin.fix}`,
        },
      );
    };
    if (rows.seqLen !== m.seqLen) mismatch("seq_len", rows.seqLen, m.seqLen);
    if (rows.padId !== m.padId) mismatch("pad_id", rows.padId, m.padId);
    if (rows.bins !== entry.bin.sequenceCount) mismatch("bins", rows.bins, entry.bin.sequenceCount);
    return rows;
  }

  /** Every row of `split` (verified) in one array; undefined when the split has no bins. */
  async loadSplit(split: string): Promise<SplitRows | undefined> {
    const bins = this.splitBins(split);
    if (bins.length === 0) return undefined;
    const seqLen = this.manifest.seqLen;
    const rows = bins.reduce((n, b) => n + b.bin.sequenceCount, 0);
    const tokens = new Uint32Array(rows * seqLen);
    const docIds = new Uint32Array(rows * seqLen);
    let at = 0;
    for (const entry of bins) {
      const shard = await this.readBin(entry);
      tokens.set(shard.tokens, at);
      docIds.set(shard.docIds, at);
      at += shard.tokens.length;
    }
    // Non-padding tokens per row (one pass over the doc ids at load; the manifest's tokens_seen counts them).
    const rowTokens = new Uint32Array(rows);
    for (let r = 0; r < rows; r++) {
      let n = 0;
      for (let i = r * seqLen; i < (r + 1) * seqLen; i++) if (docIds[i] !== PACKED_PAD_DOC_ID) n++;
      rowTokens[r] = n;
    }
    return { rows, tokens, docIds, rowTokens };
  }
}
