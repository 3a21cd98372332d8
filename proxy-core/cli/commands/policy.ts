import { loadPolicyFile } from '../../policies/load.ts';
import { policyJsonSchema } from '../../policies/schema.ts';
import { parseCommandArgs, UsageError, type Command } from '../command.ts';

const USAGE = `Usage: tollgate policy check FILE
       tollgate policy schema

  check FILE   validate a policy (YAML or JSON); every problem is printed with its path and
               line, and the exit code is 1 when there is any
  schema       print the policy's JSON Schema, for editor autocompletion`;

export const policyCommand: Command = {
  summary: 'Check a policy file, or print its JSON Schema',
  usage: USAGE,

  async run({ argv, stdout, stderr }) {
    const { positionals } = parseCommandArgs(argv, {});
    const [action, file, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);

    if (action === 'schema') {
      if (file !== undefined) throw new UsageError(`unexpected argument '${file}'`);
      stdout(JSON.stringify(policyJsonSchema(), null, 2) + '\n');
      return 0;
    }
    if (action !== 'check') {
      throw new UsageError(action ? `unknown action '${action}'` : 'say check FILE or schema');
    }
    if (file === undefined) throw new UsageError('check needs the policy FILE');

    const result = await loadPolicyFile(file);
    if (!result.ok) {
      for (const error of result.errors) {
        const where = error.line === undefined ? file : `${file}:${error.line}`;
        stderr(`${where}: ${error.path}: ${error.message}\n`);
      }
      const count = result.errors.length;
      stderr(`${count} problem${count === 1 ? '' : 's'} found; the policy was not accepted.\n`);
      return 1;
    }

    const { policy } = result;
    const limits = policy.tiers.reduce((sum, tier) => sum + tier.limits.length, 0);
    const routes = policy.apis.reduce((sum, api) => sum + api.routes.length, 0);
    stdout(
      `${file}: valid. ${plural(policy.apis.length, 'API')}, ${plural(routes, 'route')}, ` +
        `${plural(policy.tiers.length, 'tier')}, ${plural(limits, 'limit')}, ` +
        `${plural(policy.consumers.length, 'consumer')}.\n`,
    );
    return 0;
  },
};

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
