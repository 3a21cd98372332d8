import type { BenchContext, runLengths } from './context.ts';
import { enforcementSection } from './enforcement-section.ts';
import type { SectionOutcome } from './report.ts';
import { trafficSection } from './traffic-section.ts';
import { bigBodySection, requestLogSection } from './volume-sections.ts';

/**
 * The parts that measure later issues' modules. Each is skipped with a note until its module
 * lands, and a section that fails becomes a note: one broken part never hides the others.
 */
export async function runLaterSections(
  context: BenchContext,
  lengths: ReturnType<typeof runLengths>,
): Promise<SectionOutcome[]> {
  const sections: [string, () => Promise<SectionOutcome>][] = [
    ['Enforcement on vs off', () => enforcementSection(context)],
    ['Request log + metrics on vs off', () => trafficSection(context)],
    ['Big bodies', () => bigBodySection(context, lengths.bigBodyBytes)],
    ['Request log volume', () => requestLogSection(context, lengths.logRequests)],
  ];

  const outcomes: SectionOutcome[] = [];
  for (const [title, run] of sections) {
    process.stderr.write(`bench: ${title.toLowerCase()}\n`);
    outcomes.push(
      await run().catch((error: Error) => ({
        title,
        rows: [],
        notes: [`failed: ${error.message.split('\n')[0]}`],
      })),
    );
  }
  return outcomes;
}
