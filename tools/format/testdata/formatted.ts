// Fixture of //tools/format:format_fixtures_test: formatted.ts is what prettier makes of misformatted.ts.
export function describe(name: string, count: number = 1): string {
  const parts = { name, count };
  return `${parts.count} x ${parts.name}`;
}

export const LABELS = ["alpha", "beta", "gamma"];
