// Opens an offline HTML page in headless chromium (Debian's, found by @nexa_chromium and driven by playwright-core,
// which never downloads a browser) and reports what a reader would see: each SVG chart with the series it drew
// (`<path d>` / `<polyline points>` with their rendered length), console errors, uncaught page errors, and every
// request that left the page's own file. `chartProblems` turns that into the list of what is wrong (empty = fine).
import { existsSync, readFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { pathToFileURL } from "url";

import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";

/** @nexa_chromium's chromium.json (tools/toolchains/repositories.bzl `host_chromium`). */
export interface ChromiumInfo {
  path: string;
  version: string;
  searched: string;
  error: string;
}

const FIX = "run `bash tools/setup/setup.sh` (`npm test` runs it), then `bazel sync --configure`";

/** The chromium @nexa_chromium found, from the test's runfiles; throws its error (with the fix) when it found none. */
export function chromiumInfo(runfiles = process.env.RUNFILES_DIR ?? process.env.TEST_SRCDIR ?? ""): ChromiumInfo {
  const file = path.join(runfiles, "nexa_chromium", "chromium.json");
  if (!existsSync(file))
    throw new Error(`${file} is missing: the test needs data = ["@nexa_chromium//:chromium.json"]`);
  const info = JSON.parse(readFileSync(file, "utf8")) as ChromiumInfo;
  if (info.error !== "") throw new Error(info.error);
  if (!existsSync(info.path)) throw new Error(`[nexa toolchain] chromium ${info.path} is gone; fix: ${FIX}`);
  return info;
}

/** Headless chromium with HOME and caches under the test's temporary directory. */
export async function launchChromium(info: ChromiumInfo = chromiumInfo()): Promise<Browser> {
  const tmp = process.env.TEST_TMPDIR ?? tmpdir();
  // chromium puts a unix socket (at most 107 bytes of path) in $TMPDIR: Bazel's test tmpdir is too deep for it
  const shortTmp = existsSync("/tmp") ? "/tmp" : tmpdir();
  return chromium.launch({
    executablePath: info.path,
    headless: true,
    // no /dev/shm use (small in containers), no GPU process, nothing fetched on start
    args: ["--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    env: { ...process.env, HOME: tmp, TMPDIR: shortTmp, XDG_CONFIG_HOME: tmp, XDG_CACHE_HOME: tmp },
  });
}

/** One drawn series of a chart: a `<path>` or `<polyline>`. */
export interface SeriesFinding {
  tag: string;
  /** Its `d` (path) or `points` (polyline) attribute, trimmed. */
  geometry: string;
  /** Rendered length in user units (SVGGeometryElement.getTotalLength). */
  length: number;
}

export interface ChartFinding {
  width: number;
  height: number;
  series: SeriesFinding[];
}

/** What the browser saw on one page. */
export interface PageFindings {
  url: string;
  title: string;
  charts: ChartFinding[];
  consoleErrors: string[];
  pageErrors: string[];
  /** Requests to anything but file: and data: URLs (each was aborted). */
  networkRequests: string[];
  failedRequests: string[];
}

// Runs in the page (a string: the project's TypeScript has no DOM types).
const CHARTS_SCRIPT = `[...document.querySelectorAll("svg")].map((svg) => {
  const box = svg.getBoundingClientRect();
  const series = [...svg.querySelectorAll("path, polyline")].map((el) => ({
    tag: el.tagName.toLowerCase(),
    geometry: (el.getAttribute(el.tagName.toLowerCase() === "path" ? "d" : "points") || "").trim(),
    length: el.getTotalLength(),
  }));
  return { width: box.width, height: box.height, series };
})`;

const LOCAL = /^(file|data|about):/;

/** Opens `file` (a path) in a fresh browser context, offline; saves a full-page PNG to `screenshot` when given. */
export async function inspectPage(browser: Browser, file: string, screenshot?: string): Promise<PageFindings> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, offline: true });
  const found: PageFindings = {
    url: pathToFileURL(path.resolve(file)).href,
    title: "",
    charts: [],
    consoleErrors: [],
    pageErrors: [],
    networkRequests: [],
    failedRequests: [],
  };
  try {
    await context.route("**/*", (route) => {
      const url = route.request().url();
      return LOCAL.test(url) ? route.continue() : route.abort("blockedbyclient");
    });
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") found.consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => found.pageErrors.push(e.message));
    page.on("request", (r) => {
      if (!LOCAL.test(r.url())) found.networkRequests.push(r.url());
    });
    page.on("requestfailed", (r) => {
      if (LOCAL.test(r.url())) found.failedRequests.push(`${r.url()}: ${r.failure()?.errorText ?? "failed"}`);
    });
    await page.goto(found.url, { waitUntil: "load" });
    found.title = await page.title();
    found.charts = (await page.evaluate(CHARTS_SCRIPT)) as ChartFinding[];
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  } finally {
    await context.close();
  }
  return found;
}

/** What the page must show: one entry per chart (in page order), the number of series it draws. */
export interface ExpectedCharts {
  seriesPerChart: number[];
}

/** Everything wrong with `f` against `want`, one line each; empty when the charts rendered cleanly and offline. */
export function chartProblems(f: PageFindings, want: ExpectedCharts): string[] {
  const problems: string[] = [];
  for (const e of f.consoleErrors) problems.push(`console error: ${e}`);
  for (const e of f.pageErrors) problems.push(`page error: ${e}`);
  for (const u of f.networkRequests) problems.push(`network request (the page must be offline): ${u}`);
  for (const u of f.failedRequests) problems.push(`failed request: ${u}`);
  if (f.charts.length !== want.seriesPerChart.length) {
    problems.push(`expected ${want.seriesPerChart.length} SVG chart(s), found ${f.charts.length}`);
  }
  f.charts.forEach((c, i) => {
    if (!(c.width > 0 && c.height > 0)) problems.push(`chart ${i + 1}: rendered ${c.width}×${c.height}`);
    const drawn = c.series.filter((s) => s.geometry !== "" && s.length > 0);
    for (const s of c.series.filter((x) => !drawn.includes(x))) {
      problems.push(`chart ${i + 1}: a <${s.tag}> draws nothing (geometry "${s.geometry}", length ${s.length})`);
    }
    const expected = want.seriesPerChart[i];
    if (expected !== undefined && drawn.length !== expected) {
      problems.push(
        `chart ${i + 1}: expected ${expected} drawn series (<path d>/<polyline points>), found ${drawn.length}`,
      );
    }
  });
  return problems;
}

/** The directory Bazel keeps as the test's outputs (test.outputs/), else a temporary one. */
export function outputsDir(): string {
  return process.env.TEST_UNDECLARED_OUTPUTS_DIR ?? process.env.TEST_TMPDIR ?? tmpdir();
}
