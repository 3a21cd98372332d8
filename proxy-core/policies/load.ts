/**
 * Reading a policy document (YAML or JSON, since JSON is YAML) into a validated `Policy`.
 *
 * Guarantees: every problem comes back as data with its path in the document
 * (`tiers[1].limits[0].per`) and, when known, its line; nothing here throws for bad input or
 * prints a stack trace. Keys that could reach an object prototype (`__proto__`, `constructor`,
 * `prototype`) are refused before the document becomes JavaScript. Aliases are capped so a
 * small file cannot expand into a huge one.
 */

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { checkSemantics, type DocPath } from './semantic.ts';
import { policySchema, type Policy } from './schema.ts';

export interface PolicyError {
  /** Where in the document: `tiers[1].limits[0].per`, or `(document)` for the whole. */
  path: string;
  message: string;
  /** 1-based line in the source text, when the problem can be placed. */
  line?: number;
}

export type ParseResult = { ok: true; policy: Policy } | { ok: false; errors: PolicyError[] };

const MAX_POLICY_BYTES = 4 * 1024 * 1024;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `source` names the text in messages and anchors relative `jwksFile` paths. */
export function parsePolicy(text: string, source?: string): ParseResult {
  if (text.length > MAX_POLICY_BYTES) {
    return fail([{ path: '(document)', message: `larger than ${MAX_POLICY_BYTES} bytes` }]);
  }

  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    return fail(doc.errors.map((e) => syntaxError(e.message, e.linePos?.[0]?.line)));
  }

  const forbidden = forbiddenKeys(doc, lines);
  if (forbidden.length > 0) return fail(forbidden);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return fail([syntaxError((error as Error).message)]);
  }
  if (data === null || data === undefined) {
    return fail([{ path: '(document)', message: 'the document is empty; expected a policy' }]);
  }

  const parsed = policySchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    return fail(parsed.error.issues.flatMap((issue) => describeIssue(issue, doc, lines)));
  }

  const problems = checkSemantics(parsed.data);
  if (problems.length > 0) {
    return fail(problems.map((p) => placed(p.path, p.message, doc, lines)));
  }

  return { ok: true, policy: anchorFiles(parsed.data, source) };
}

/** Reads and parses a file; a missing or unreadable file is an error result, not a throw. */
export async function loadPolicyFile(file: string): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code;
    return fail([{ path: '(document)', message: `cannot read ${file}: ${why ?? 'unreadable'}` }]);
  }
  return parsePolicy(text, path.resolve(file));
}

/** `tiers[1].limits[0].per` from `['tiers', 1, 'limits', 0, 'per']`. */
export function formatPath(docPath: readonly PropertyKey[]): string {
  let text = '';
  for (const part of docPath) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? '(document)' : text;
}

function fail(errors: PolicyError[]): ParseResult {
  return { ok: false, errors };
}

function syntaxError(message: string, line?: number): PolicyError {
  // The yaml package appends " at line N, column M" and a code excerpt; keep the first line.
  const firstLine = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  return { path: '(document)', message: `invalid YAML/JSON: ${firstLine}`, line };
}

function forbiddenKeys(doc: Document, lines: LineCounter): PolicyError[] {
  const errors: PolicyError[] = [];
  visit(doc, {
    Pair(_key, pair, ancestry) {
      if (!isScalar(pair.key) || !FORBIDDEN_KEYS.has(String(pair.key.value))) return;
      const at = ancestryPath(ancestry);
      at.push(String(pair.key.value));
      errors.push({
        path: formatPath(at),
        message: `the key "${String(pair.key.value)}" is not allowed (it could alter object prototypes)`,
        line: lineOf(pair.key.range?.[0], lines),
      });
    },
  });
  return errors;
}

/** The document path of a node from `visit`'s ancestry (Document, maps, pairs, seqs). */
function ancestryPath(ancestry: readonly unknown[]): DocPath {
  const at: DocPath = [];
  for (const [index, node] of ancestry.entries()) {
    if (isPair(node) && isScalar(node.key)) at.push(String(node.key.value));
    const child = ancestry[index + 1];
    if (node && typeof node === 'object' && 'items' in node && !isMap(node) && child) {
      at.push((node.items as unknown[]).indexOf(child));
    }
  }
  return at;
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document, lines: LineCounter): PolicyError[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) =>
      placed([...(issue.path as DocPath), key], `unknown field "${key}"`, doc, lines),
    );
  }
  return [placed(issue.path as DocPath, issueMessage(issue), doc, lines)];
}

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}`
        : `expected one of ${issue.values.map(String).join('|')}`;
    case 'invalid_type':
      return issue.input === undefined
        ? `required (expected ${issue.expected})`
        : `expected ${issue.expected}, got ${describeValue(issue.input)}`;
    case 'invalid_union':
      if (issue.discriminator) {
        const options = 'options' in issue ? (issue.options ?? []) : [];
        return `unknown ${issue.discriminator}; expected one of ${options.join('|')}`;
      }
      return issue.message;
    case 'too_small':
      return issue.origin === 'array'
        ? `expected at least ${issue.minimum} item(s)`
        : `expected ${issue.inclusive === false ? 'more than' : 'at least'} ${issue.minimum}`;
    case 'too_big':
      return `expected at most ${issue.maximum}`;
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') return `string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === 'object') return 'object';
  return `${typeof value} ${String(value)}`;
}

/** Attaches the line of the deepest existing node on `at`. */
function placed(at: DocPath, message: string, doc: Document, lines: LineCounter): PolicyError {
  for (let depth = at.length; depth >= 0; depth--) {
    const node = doc.getIn(at.slice(0, depth), true) as { range?: [number, number, number] };
    const offset = node?.range?.[0];
    if (offset !== undefined) return { path: formatPath(at), message, line: lineOf(offset, lines) };
  }
  return { path: formatPath(at), message };
}

function lineOf(offset: number | undefined, lines: LineCounter): number | undefined {
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

/** JWKS files are named relative to the policy file, like includes in most configs. */
function anchorFiles(policy: Policy, source: string | undefined): Policy {
  if (!source) return policy;
  const base = path.dirname(source);
  for (const api of policy.apis) {
    for (const method of api.auth) {
      if (method.type === 'jwt' && method.jwksFile !== undefined) {
        method.jwksFile = path.resolve(base, method.jwksFile);
      }
    }
  }
  return policy;
}
