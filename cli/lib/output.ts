/**
 * What a command prints on stdout: with `--json`, exactly one JSON
 * document and nothing else (scripts parse it); without, a table for
 * people. Errors never come here: main.ts writes them to stderr.
 */
export function printResult(json: boolean, document: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(document, null, 2)}\n` : `${human()}\n`);
}

/** Two columns, a label and its value. */
export function keyValueTable(rows: readonly (readonly [string, string | number | null | undefined])[]): string {
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${key.padEnd(width)}  ${value ?? "-"}`).join("\n");
}

/** A header row and one row per item; an empty list says so. */
export function columnsTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return "(none)";
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
