/**
 * The one table `npm run bench` prints: fixed columns, section rows, notes for skipped parts,
 * and a target column that puts each goal beside the figure it judges. Figures, not
 * assertions: a MISS is printed, never thrown.
 */

export const COLUMNS = [
  'req/s',
  'p50 ms',
  'p99 ms',
  '×direct',
  '×ref',
  '×mitm',
  'CPU µs/req',
  'RSS MB',
  'errors',
];

type Line =
  | { kind: 'section'; title: string }
  | { kind: 'row'; label: string; cells: string[]; target: string }
  | { kind: 'note'; text: string };

export class BenchTable {
  #lines: Line[] = [];

  section(title: string): void {
    this.#lines.push({ kind: 'section', title });
  }

  /** `cells` follow COLUMNS; missing ones print empty. */
  row(label: string, cells: Partial<Record<(typeof COLUMNS)[number], string>>, target = ''): void {
    this.#lines.push({ kind: 'row', label, cells: COLUMNS.map((c) => cells[c] ?? ''), target });
  }

  note(text: string): void {
    this.#lines.push({ kind: 'note', text });
  }

  render(): string {
    const rows = this.#lines.filter((l) => l.kind === 'row');
    const labelWidth = Math.max(12, ...rows.map((r) => r.label.length));
    const widths = COLUMNS.map((c, i) =>
      Math.max(c.length, ...rows.map((r) => r.cells[i]!.length)),
    );

    const format = (label: string, cells: string[], target: string) =>
      (
        '  ' +
        label.padEnd(labelWidth) +
        cells.map((c, i) => '  ' + c.padStart(widths[i]!)).join('')
      )
        .concat(target ? '   ' + target : '')
        .trimEnd();

    const out = [format('', COLUMNS, 'target')];
    for (const line of this.#lines) {
      if (line.kind === 'section') out.push(line.title);
      else if (line.kind === 'note') out.push('    ' + line.text);
      else out.push(format(line.label, line.cells, line.target));
    }
    return out.join('\n');
  }
}

export type Comparison = '>=' | '<=' | '<';

/** `0.93 ≥ 0.90 PASS`: the figure, the goal, and whether it is met. */
export function verdict(
  value: number | undefined,
  op: Comparison,
  goal: number,
  unit = '',
): string {
  if (value === undefined || !Number.isFinite(value))
    return `goal ${symbol(op)} ${goal}${unit}: n/a`;
  const met = op === '>=' ? value >= goal : op === '<=' ? value <= goal : value < goal;
  // Three decimals below 10, so 0.797 against a goal of 0.8 does not print as "0.80 … MISS".
  const shown = Math.abs(value) < 10 ? value.toFixed(3) : fixed(value);
  return `${shown}${unit} ${symbol(op)} ${goal}${unit} ${met ? 'PASS' : 'MISS'}`;
}

function symbol(op: Comparison): string {
  return op === '>=' ? '≥' : op === '<=' ? '≤' : '<';
}

/** Numbers with as many decimals as make them readable. */
export function fixed(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
