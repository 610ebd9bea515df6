import type { Writable } from 'node:stream';

export type OutputFormat = 'text' | 'json';

/**
 * Prints a command's result on stdout: `--output json` as one JSON document, else the text form.
 * Results are data; progress, logs and errors go to stderr.
 */
export function printResult<T>(out: Writable, format: OutputFormat, result: T, text: (r: T) => string): void {
  if (format === 'json') {
    out.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const s = text(result);
  if (s.length > 0) out.write(s.endsWith('\n') ? s : `${s}\n`);
}

/** A falcoctl (pterm) style table: every cell padded to its column width, tab-separated. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('\t');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
