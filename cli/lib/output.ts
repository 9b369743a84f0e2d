/**
 * What a command prints on stdout: with `--json`, exactly one JSON
 * document and nothing else (scripts parse it); without, a table for
 * people. Errors never come here: main.ts writes them to stderr.
 */
export function printResult(json: boolean, document: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(document, null, 2)}\n` : `${terminalText(human())}\n`);
}

/**
 * C0 controls (but the line breaks and tabs a table is made of), DEL, C1
 * controls and the bidirectional overrides. What the CLI prints for people
 * holds values others chose: a client's or person's name, an audit detail,
 * a revocation's reason, a server's error description. Printed raw, an
 * ESC in one is a terminal control sequence run in the operator's terminal
 * (clearing or rewriting what was printed, setting the window title, OSC 52
 * writing the clipboard), and a bidi override shows a value other than the
 * one printed. `--json` needs none of this: JSON.stringify escapes C0, and
 * a program reads it, not a terminal.
 */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_IN_CELL = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function escapeControl(character: string): string {
  const code = character.codePointAt(0) ?? 0;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
}

/** Text for a terminal: every control character but line breaks and tabs shown as an escape, never run. */
export function terminalText(text: string): string {
  return text.replace(CONTROL, escapeControl);
}

/** One table cell: line breaks and tabs escaped too, so a value cannot start a row of its own. */
function cell(value: string): string {
  return value.replace(CONTROL_IN_CELL, escapeControl);
}

/** Two columns, a label and its value. */
export function keyValueTable(rows: readonly (readonly [string, string | number | null | undefined])[]): string {
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${key.padEnd(width)}  ${cell(String(value ?? "-"))}`).join("\n");
}

/** A header row and one row per item; an empty list says so. */
export function columnsTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return "(none)";
  const safe = rows.map((row) => row.map(cell));
  const widths = headers.map((header, i) => Math.max(header.length, ...safe.map((row) => (row[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((text, i) => text.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...safe.map(line)].join("\n");
}
