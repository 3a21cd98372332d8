import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { connectToControlApi } from '../../control/connect.ts';
import {
  EXPORT_FORMATS,
  exportPolicy,
  type ExportFile,
  type ExportFormat,
  type ExportWarning,
} from '../../exports/index.ts';
import { loadPolicyFile, parsePolicy } from '../../policies/load.ts';
import type { Policy } from '../../policies/schema.ts';
import { parseCommandArgs, resolveDataDir, UsageError, type Command } from '../command.ts';

const USAGE = `Usage: tollgate export --format FORMAT [--policy FILE] [-o OUT] [--report json]
                       [--strict] [--include-keys] [--kong-edition oss|enterprise]

Compiles the policy for a production gateway and reports, on stderr, every part the gateway
cannot express. Without --policy it exports the policy of the running Tollgate.

Formats: ${EXPORT_FORMATS.join(', ')}

Options:
  --format FORMAT        the target (required)
  --policy FILE          export this policy file instead of the running one
  -o, --output OUT       write there: a file for one-file exports, else a directory
                         (default: stdout, files separated by "# === name ===" lines)
  --report json          print the warnings as JSON instead of text (still on stderr)
  --strict               exit 1 and write nothing when any translation is lossy
  --include-keys         write consumer keys and JWT secrets too (never by default)
  --kong-edition EDITION oss (rate-limiting per consumer, default) or enterprise
                         (consumer groups with rate-limiting-advanced)
  --data-dir DIR         the data dir of the running Tollgate to ask`;

export const exportCommand: Command = {
  summary: 'Export the policy to Kong, Tyk, Envoy, NGINX, AWS, OpenAPI or Tollgate YAML',
  usage: USAGE,

  async run({ argv, stdout, stderr }) {
    const { values, positionals } = parseCommandArgs(argv, {
      format: { type: 'string' },
      policy: { type: 'string' },
      output: { type: 'string', short: 'o' },
      report: { type: 'string' },
      strict: { type: 'boolean' },
      'include-keys': { type: 'boolean' },
      'kong-edition': { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const format = values.format;
    if (!format) throw new UsageError('--format is required');
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(`unknown format '${format}' (one of ${EXPORT_FORMATS.join(', ')})`);
    }
    if (values.report !== undefined && values.report !== 'json') {
      throw new UsageError(`--report takes only 'json', not '${values.report}'`);
    }
    const edition = values['kong-edition'];
    if (edition !== undefined && edition !== 'oss' && edition !== 'enterprise') {
      throw new UsageError(`--kong-edition is oss or enterprise, not '${edition}'`);
    }

    const policy = values.policy
      ? await policyFromFile(values.policy)
      : await runningPolicy(resolveDataDir(values['data-dir']));
    const result = exportPolicy(policy, format as ExportFormat, {
      includeKeys: values['include-keys'] ?? false,
      kongEdition: edition ?? 'oss',
    });

    stderr(values.report === 'json' ? jsonReport(format, result) : textReport(result.warnings));
    if (values.strict && result.warnings.length > 0) {
      const count = result.warnings.length;
      stderr(`${count} lossy translation${count === 1 ? '' : 's'}; nothing written (--strict).\n`);
      return 1;
    }

    if (values.output) await writeFiles(values.output, format, result.files);
    else stdout(concatenated(result.files));
    return 0;
  },
};

async function policyFromFile(file: string): Promise<Policy> {
  const loaded = await loadPolicyFile(file);
  if (loaded.ok) return loaded.policy;
  const problems = loaded.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n');
  throw new Error(`${file} is not a valid policy:\n${problems}`);
}

async function runningPolicy(dataDir: string): Promise<Policy> {
  const client = await connectToControlApi(dataDir);
  const state = await client.policy.get();
  if (state.policy === null || state.policy === undefined) {
    throw new Error('the running Tollgate has no policy; pass --policy FILE');
  }
  const parsed = parsePolicy(JSON.stringify(state.policy), 'the running policy');
  if (!parsed.ok)
    throw new Error(`the running policy does not validate: ${parsed.errors[0]?.message}`);
  return parsed.policy;
}

function textReport(warnings: readonly ExportWarning[]): string {
  return warnings.map((w) => `warning: ${w.code} at ${w.path}: ${w.message}\n`).join('');
}

function jsonReport(format: string, result: ReturnType<typeof exportPolicy>): string {
  const files = result.files.map((file) => file.name);
  return JSON.stringify({ format, files, warnings: result.warnings }, null, 2) + '\n';
}

function concatenated(files: readonly ExportFile[]): string {
  if (files.length === 1) return files[0]!.content;
  return files.map((file) => `# === ${file.name} ===\n${file.content}`).join('\n');
}

/** One file goes to OUT itself unless OUT is a directory; several go under OUT. */
async function writeFiles(out: string, format: string, files: readonly ExportFile[]) {
  const isDir = out.endsWith('/') || (await stat(out).catch(() => undefined))?.isDirectory();
  if (files.length === 1 && !isDir) {
    await mkdir(path.dirname(path.resolve(out)), { recursive: true });
    await writeFile(out, files[0]!.content);
    return;
  }
  for (const file of files) {
    // Names come from API names (no dots or slashes), so they stay under OUT.
    const relative = file.name.startsWith(`${format}/`)
      ? file.name.slice(format.length + 1)
      : file.name;
    const target = path.resolve(out, relative);
    if (!target.startsWith(path.resolve(out) + path.sep))
      throw new Error(`refusing to write ${file.name}`);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content);
  }
}
