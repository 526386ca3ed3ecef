// What a text-dataset stage dropped, as the operator sees it after a run: per reason the count, the first raw-file
// locations and the exclusion file holding every dropped document (DatasetManifest.exclusions, written by the data
// stage). Nothing is dropped unseen: the publish summary (the end of `nexa run`) and `nexa show` print these lines.
import { CONTRACTS } from "@nexa/modules/manifest";
import type { DatasetManifest } from "@nexa/proto/nexa/v1/dataset";

export interface StageExclusion {
  stage: string;
  reason: string;
  count: number;
  /** The first dropped documents as "<raw file>:<line>" (or ":<row>"), in reading order. */
  firstLocations: string[];
  /** The exclusion file, relative to the stage's data directory (`excluded-<reason>.jsonl`). */
  file: string;
}

/** The exclusions of a stage's product; empty unless it is a DatasetManifest that lists some. */
export function exclusionsOf(
  stage: string,
  product: { schema: string; message: unknown } | undefined,
): StageExclusion[] {
  if (!product || product.schema !== CONTRACTS.DatasetManifest.name) return [];
  const m = product.message as DatasetManifest;
  return (m.exclusions ?? []).map((x) => ({
    stage,
    reason: x.reason,
    count: x.count,
    firstLocations: [...x.firstLocations],
    file: x.file?.path ?? "",
  }));
}

/** One line per reason: `dropped by <stage>: <count> <reason> (first: a.jsonl:3, b.jsonl:7) -> <stage>/<file>`. */
export function formatExclusions(list: readonly StageExclusion[]): string {
  return list
    .map((x) => {
      const first = x.firstLocations.length > 0 ? ` (first: ${x.firstLocations.join(", ")})` : "";
      return `dropped by ${x.stage}: ${x.count} ${x.reason}${first} -> ${x.stage}/${x.file}`;
    })
    .join("\n");
}
