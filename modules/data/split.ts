// Deterministic train/validation/test assignment: a document's split depends only on (seed, id), so it is stable
// under reordering, sharding and the addition or removal of other documents.

import { createHash } from "crypto";

import { ConfigError } from "@nexa/modules/monitoring";
import type { SplitConfig } from "@nexa/proto/nexa/v1/data_config";

export type SplitName = "train" | "validation" | "test";

/** Splits in manifest order. */
export const SPLIT_ORDER: readonly SplitName[] = ["train", "validation", "test"];

export interface SplitFractions {
  train: number;
  validation: number;
  test: number;
}

/** The validated fractions of SplitConfig (absent = everything in train). */
export function splitFractions(split: SplitConfig | undefined, configFile: string): SplitFractions {
  const validation = split?.validationFraction ?? 0;
  const test = split?.testFraction ?? 0;
  const check = (value: number, field: string): void => {
    if (!(value >= 0 && value < 1)) {
      throw new ConfigError("DATA_BAD_SPLIT", `${field} is ${value}; it must be in [0, 1)`, {
        context: { file: configFile, jsonPath: `$.split.${field}` },
        hint: "fractions are shares of all kept documents, e.g. 0.05",
      });
    }
  };
  check(validation, "validationFraction");
  check(test, "testFraction");
  if (validation + test >= 1) {
    throw new ConfigError(
      "DATA_BAD_SPLIT",
      `validationFraction + testFraction is ${validation + test}; it must be < 1`,
      {
        context: { file: configFile, jsonPath: "$.split" },
        hint: "leave a share for train",
      },
    );
  }
  return { train: 1 - (validation + test), validation, test };
}

/** A uniform number in [0, 1) from sha256("nexa.split\0<seed>\0<id>") (48 bits). */
export function splitPoint(seed: number, id: string): number {
  const h = createHash("sha256").update(`nexa.split\0${seed}\0${id}`).digest();
  return h.readUIntBE(0, 6) / 2 ** 48;
}

/** The split of document `id`: validation below validation, test below validation + test, else train. */
export function assignSplit(seed: number, id: string, f: SplitFractions): SplitName {
  const u = splitPoint(seed, id);
  if (u < f.validation) return "validation";
  if (u < f.validation + f.test) return "test";
  return "train";
}
