// The page check can fail: each broken page below (a script error, a console error, no chart, a chart that draws
// nothing, a request off the page) is reported, and a clean page is not. A missing chromium is an error naming
// the fix.
import { mkdirSync, mkdtempSync, writeFileSync } from "fs";
import * as path from "path";

import type { Browser } from "playwright-core";

import { chartProblems, chromiumInfo, inspectPage, launchChromium } from "./page_check";

const dir = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? "/tmp", "page-check-"));
const CHART = '<svg width="100" height="50"><polyline fill="none" stroke="#000" points="0,0 50,25 100,10"/></svg>';

/** Writes `body` as a page; returns its path. */
function page(name: string, body: string): string {
  const file = path.join(dir, `${name}.html`);
  writeFileSync(
    file,
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${name}</title></head><body>${body}</body></html>`,
  );
  return file;
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

const problems = async (name: string, body: string, seriesPerChart = [1]) =>
  chartProblems(await inspectPage(browser, page(name, body)), { seriesPerChart });

describe("page check", () => {
  it("passes a clean page with one drawn chart (path or polyline)", async () => {
    expect(await problems("clean", CHART)).toEqual([]);
    expect(await problems("path", '<svg width="10" height="10"><path d="M0 0 L10 10" stroke="#000"/></svg>')).toEqual(
      [],
    );
  });

  it("reports a script error and a console error", async () => {
    expect(await problems("throws", `${CHART}<script>throw new Error("boom")</script>`)).toEqual(["page error: boom"]);
    expect(await problems("logs", `${CHART}<script>console.error("bad data")</script>`)).toEqual([
      "console error: bad data",
    ]);
  });

  it("reports a page without a chart, and a chart whose series draw nothing", async () => {
    expect(await problems("nochart", "<p>no chart</p>")).toEqual(["expected 1 SVG chart(s), found 0"]);
    const empty = '<svg width="100" height="50"><polyline points=""/><path d=""/></svg>';
    expect(await problems("empty", empty)).toEqual([
      'chart 1: a <polyline> draws nothing (geometry "", length 0)',
      'chart 1: a <path> draws nothing (geometry "", length 0)',
      "chart 1: expected 1 drawn series (<path d>/<polyline points>), found 0",
    ]);
    expect(await problems("fewer", CHART, [2])).toEqual([
      "chart 1: expected 2 drawn series (<path d>/<polyline points>), found 1",
    ]);
  });

  it("reports (and blocks) a request that leaves the page's own file", async () => {
    const p = await problems("online", `${CHART}<img src="http://example.invalid/pixel.png">`);
    expect(p).toContain("network request (the page must be offline): http://example.invalid/pixel.png");
    // chromium logs the blocked load as a console error as well
    expect(p.filter((x) => x.startsWith("console error: Failed to load resource"))).toHaveLength(1);
  });

  it("a missing chromium is an error naming the fix, not a skip", () => {
    const runfiles = mkdtempSync(path.join(dir, "runfiles-"));
    const repo = path.join(runfiles, "nexa_chromium");
    mkdirSync(repo);
    const error = "[nexa toolchain] chromium not found (searched: PATH); fix: run `bash tools/setup/setup.sh`";
    writeFileSync(path.join(repo, "chromium.json"), JSON.stringify({ path: "", version: "", searched: "PATH", error }));
    expect(() => chromiumInfo(runfiles)).toThrow(error);
    writeFileSync(
      path.join(repo, "chromium.json"),
      JSON.stringify({ path: path.join(dir, "gone"), version: "1", searched: "PATH", error: "" }),
    );
    expect(() => chromiumInfo(runfiles)).toThrow(/chromium .*gone is gone; fix: run `bash tools\/setup\/setup.sh`/);
  });
});
