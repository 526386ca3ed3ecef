// report.html: escaping, fixed bytes for fixed inputs, the verdict, tables, summary sentence and SVG loss curves.
import { Comparator, EvalRubric } from "@nexa/proto/nexa/v1/eval";

import { evaluateRubric, formatNumber, renderReportHtml, summarySentence } from "./index";
import type { ReportView } from "./index";

const METRICS = {
  "baseline.bits_per_byte": 4.5,
  "baseline.loss": 5.1,
  "eval.bytes": 1000,
  "eval.examples": 3,
  "eval.tokens": 400,
  "student.bits_per_byte": 2.25,
  "student.bpb_gain_vs_baseline": 2.25,
  "student.bpb_gain_vs_bigram": 0.5,
  "bigram.bits_per_byte": 2.75,
  "bigram.loss": 4.4,
  "student.loss": 3.9,
  "student.loss_spike_ratio": 1.125,
  "agreement.top1": 0.5,
  "student.bpb_gap_to_teacher": 0.25,
  "teacher.bits_per_byte": 2,
  "teacher.loss": 3.5,
};

function view(name = 'golden <smoke> & "co"', withTeacher = true): ReportView {
  const rubric = EvalRubric.fromPartial({
    schemaVersion: 1,
    name,
    revision: 3,
    criteria: [
      { metric: "student.bpb_gain_vs_baseline", comparator: Comparator.COMPARATOR_GTE, threshold: 0, required: true },
      { metric: "student.loss", comparator: Comparator.COMPARATOR_LTE, threshold: 3, required: false },
    ],
  });
  const curve = [
    { step: 1, loss: 5.5 },
    { step: 2, loss: 4.8 },
    { step: 3, loss: 4.1, valLoss: 4.3 },
    { step: 4, loss: 3.9 },
  ];
  return {
    rubric,
    outcome: evaluateRubric(rubric, METRICS, "rubric.json"),
    metrics: METRICS,
    student: { stage: "train<student>", digest: "sha256:" + "a".repeat(64), curve },
    teacher: withTeacher
      ? { stage: "teacher", digest: "sha256:" + "b".repeat(64), curve: curve.map((p) => ({ ...p, step: p.step * 2 })) }
      : undefined,
    datasetDigest: "sha256:" + "c".repeat(64),
    exampleCount: 3,
  };
}

describe("html report", () => {
  it("escapes every text and embeds nothing external", () => {
    const html = renderReportHtml(view('<script>alert("x")</script>'));
    expect(html).not.toContain("<script");
    expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(html).toContain("train&lt;student&gt;");
    expect(html).not.toMatch(/https?:|src=|href=|@import|url\(/);
  });

  it("is deterministic and shows verdict, tables, summary and SVG curves", () => {
    const html = renderReportHtml(view());
    expect(renderReportHtml(view())).toBe(html);
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).toContain("<title>Eval report: golden &lt;smoke&gt; &amp; &quot;co&quot; r3 — PASS</title>");
    expect(html).toMatch(
      /<table class="metrics"><tr><th>metric<\/th><th>student<\/th><th>teacher<\/th><th>unigram baseline<\/th><th>bigram baseline<\/th><\/tr>/,
    );
    expect(html).toContain(
      '<tr><th>Loss spike ratio (training)</th><td class="num">1.1250</td><td class="num">–</td><td class="num">–</td><td class="num">–</td></tr>',
    );
    expect(html).toMatch(/<table class="rubric">.*student\.bpb_gain_vs_baseline.*≥.*PASS.*student\.loss.*≤.*FAIL/s);
    expect(html).toContain(`<p class="summary">${summarySentence(METRICS)}</p>`); // no characters to escape
    const svg = html.slice(html.indexOf("<svg"), html.indexOf("</svg>") + 6);
    expect(svg.match(/<polyline class="train"/g)).toHaveLength(2);
    expect(svg.match(/<circle class="val"/g)).toHaveLength(2);
    expect(svg).toContain(">step</text>");
    // nice ticks: steps 1..8 → 0, 2, …, 8; losses 3.9..5.5 → 3.5, 4.0, …, 5.5
    expect([...svg.matchAll(/y="288" text-anchor="middle">([^<]*)</g)].map((m) => m[1])).toEqual([
      "0",
      "2",
      "4",
      "6",
      "8",
    ]);
    expect([...svg.matchAll(/text-anchor="end" dominant-baseline="middle">([^<]*)</g)].map((m) => m[1])).toEqual([
      "3.5",
      "4.0",
      "4.5",
      "5.0",
      "5.5",
    ]);
    expect(svg).toContain(">loss (nats/token)</text>");
  });

  it("says how far the student is from the baseline and the teacher", () => {
    expect(summarySentence(METRICS)).toBe(
      "The student beats the unigram baseline by 2.2500 bits per byte (2.2500 vs 4.5000). It beats the bigram baseline (2.7500) by 0.5000. It is 0.2500 bits per byte behind the teacher (2).",
    );
    const distilled = { ...METRICS, "distillation.bpb_gain": 0.125, "undistilled.bits_per_byte": 2.375 };
    expect(summarySentence(distilled)).toMatch(
      /Distillation bought 0\.1250 bits per byte: the same model trained on as many raw tokens reaches 2\.3750\.$/,
    );
    expect(summarySentence({ ...distilled, "distillation.bpb_gain": -0.125 })).toMatch(/Distillation cost 0\.1250/);
    expect(summarySentence({ ...METRICS, "student.bpb_gain_vs_bigram": -0.25 })).toContain(
      "It does not beat the bigram baseline (2.7500): 0.2500 worse.",
    );
    const worse = { ...METRICS, "student.bpb_gain_vs_baseline": -0.5, "student.bpb_gap_to_teacher": -0.125 };
    expect(summarySentence(worse)).toMatch(
      /does not beat the unigram baseline: it is 0\.5000 bits per byte worse.*0\.1250 bits per byte ahead of the teacher/,
    );
    const solo: Record<string, number> = { ...METRICS };
    delete solo["student.bpb_gap_to_teacher"];
    expect(summarySentence(solo)).toMatch(/No teacher was evaluated/);
    expect(renderReportHtml(view("r", false))).not.toContain("<th>teacher</th>");
  });

  it("formats numbers with fixed rules", () => {
    expect([formatNumber(3), formatNumber(0.123456), formatNumber(0.0000123), formatNumber(undefined)]).toEqual([
      "3",
      "0.1235",
      "1.230e-5",
      "–",
    ]);
  });

  it("renders a placeholder chart when no curve has points", () => {
    const v = view();
    v.student.curve = [];
    v.teacher!.curve = [];
    expect(renderReportHtml(v)).toContain("no training metrics recorded");
  });
});
