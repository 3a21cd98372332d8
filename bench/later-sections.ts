import type { BenchContext } from './context.ts';
import type { runLengths } from './context.ts';
import type { SectionOutcome } from './report.ts';

/** The parts that measure later issues' modules; each is skipped with a note until it lands. */
export async function runLaterSections(
  _context: BenchContext,
  _lengths: ReturnType<typeof runLengths>,
): Promise<SectionOutcome[]> {
  return [];
}
