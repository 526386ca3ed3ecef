// Public face of modules/eval: the eval stage and the pieces its tests and README describe.
export { EVAL_METRICS_FILE, evalStage, REPORT_FILE, REPORT_HTML_FILE } from "./eval_stage";
export { availableMetrics, computeMetrics } from "./metrics";
export { bitsPerByte, tokenByteLengths, unigramNats } from "./measures";
export { checkRubric, evaluateRubric, meets } from "./rubric";
export type { RubricOutcome } from "./rubric";
export { formatNumber, renderReportHtml, summarySentence } from "./html_report";
export type { ReportView } from "./html_report";
