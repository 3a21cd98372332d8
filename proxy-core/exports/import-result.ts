/**
 * What an import gives back: the policy document as it would be written (defaults left out,
 * so it reads like a hand-written file), the same document validated, and what was left
 * behind. An import whose result does not validate is an `ImportError` listing each problem.
 */

import YAML from 'yaml';
import { parsePolicy } from '../policies/load.ts';
import type { Policy, PolicyInput } from '../policies/schema.ts';
import type { ExportWarning } from './types.ts';

export type ImportWarnings = ExportWarning[];

/** A parsed YAML or JSON mapping of the document being imported. */
export type ImportDoc = Record<string, unknown>;

/** One API of the policy being built, in the policy file's (input) shape. */
export type ApiInput = NonNullable<PolicyInput['apis']>[number];

export interface ImportResult {
  /** The document to save as a policy file. */
  document: PolicyInput;
  /** The same, validated, with every default filled in. */
  policy: Policy;
  /** What the source held that the policy does not, with its place in the source. */
  warnings: ImportWarnings;
}

/** Input that cannot become a policy; the message names the source and the place. */
export class ImportError extends Error {}

/** Reports something the source held that the policy cannot, at its place in the source. */
export type ImportWarn = (path: string, message: string) => void;

/** The warnings of one import, all under `code`, and the function that adds one. */
export function importWarnings(code: string): { warnings: ImportWarnings; warn: ImportWarn } {
  const warnings: ImportWarnings = [];
  return { warnings, warn: (path, message) => warnings.push({ code, path, message }) };
}

/** The source parsed as YAML (JSON is YAML); a parse failure is an `ImportError` naming it. */
export function parseSource(text: string, source: string): unknown {
  try {
    return YAML.parse(text);
  } catch (error) {
    throw new ImportError(`${source}: not YAML or JSON: ${(error as Error).message}`);
  }
}

/** A YAML/JSON mapping, as opposed to a list, a scalar or null. */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function finishImport(
  document: PolicyInput,
  source: string,
  warnings: ImportWarnings,
): ImportResult {
  const parsed = parsePolicy(JSON.stringify(document), source);
  if (!parsed.ok) {
    const problems = parsed.errors.map((error) => `  ${error.path}: ${error.message}`).join('\n');
    throw new ImportError(`${source}: the imported policy is not valid:\n${problems}`);
  }
  return { document, policy: parsed.policy, warnings };
}

export function importedYaml(result: ImportResult): string {
  return YAML.stringify(result.document, { lineWidth: 0, aliasDuplicateObjects: false });
}
