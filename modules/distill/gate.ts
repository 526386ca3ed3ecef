// Gating of teacher completions (DistillConfig.gating): each completion is kept or dropped with one reason, and
// every drop is counted per reason (the counts become DatasetManifest.drops). Checks, first failing one wins:
//   empty_completion  the teacher stopped at once (or produced no whole character)
//   too_short         fewer than min_chars characters (Unicode code points)
//   too_long          more than max_chars characters (max_chars > 0)
//   reject_pattern    a reject_patterns regex matches
//   duplicate         dedupe: the same completion, after whitespace normalization, was kept before
// Completions are gated in the drawn prompt order, so which duplicate is kept is deterministic.

import { createHash } from "crypto";

import type { Gating } from "./config";

export const DROP_REASONS = ["duplicate", "empty_completion", "reject_pattern", "too_long", "too_short"] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Keeps or drops completions and counts the drops. */
export class CompletionGate {
  readonly drops: Record<string, number> = {};
  private readonly seen = new Set<string>();

  constructor(private readonly gating: Gating) {}

  /** The drop reason of `completion`, or undefined when it is kept (a kept completion joins the dedupe set). */
  check(completion: string): DropReason | undefined {
    const reason = this.reason(completion);
    if (reason !== undefined) this.drops[reason] = (this.drops[reason] ?? 0) + 1;
    return reason;
  }

  private reason(completion: string): DropReason | undefined {
    const g = this.gating;
    if (completion.length === 0) return "empty_completion";
    const chars = countCodePoints(completion);
    if (chars < g.minChars) return "too_short";
    if (g.maxChars > 0 && chars > g.maxChars) return "too_long";
    if (g.rejectPatterns.some((re) => re.test(completion))) return "reject_pattern";
    if (g.dedupe) {
      const key = createHash("sha256").update(completion.trim().split(/\s+/u).join(" ")).digest("hex");
      if (this.seen.has(key)) return "duplicate";
      this.seen.add(key);
    }
    return undefined;
  }
}

const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/** Unicode code points of `s` (what min_chars / max_chars count): UTF-16 units minus surrogate pairs. */
export function countCodePoints(s: string): number {
  return s.length - (s.match(SURROGATE_PAIR)?.length ?? 0);
}
