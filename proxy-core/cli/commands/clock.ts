import { connectToControlApi } from '../../control/connect.ts';
import { parseDuration } from '../../policies/clock.ts';
import { parseCommandArgs, resolveDataDir, UsageError, type Command } from '../command.ts';

const USAGE = `Usage: tollgate clock [show]
       tollgate clock advance DURATION
       tollgate clock reset

Moves the running Tollgate's virtual clock, so daily and monthly quotas can be watched
resetting without waiting. DURATION is like 30s, 30m, 2h, 1d, 1w or 1d12h.

Options:
  --data-dir DIR   the data dir of the Tollgate to talk to (default: the per-user app data folder)`;

export const clockCommand: Command = {
  summary: "Show, advance or reset the running Tollgate's virtual clock",
  usage: USAGE,

  async run({ argv, stdout }) {
    const { values, positionals } = parseCommandArgs(argv, {});
    const [action = 'show', amount, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);

    let ms = 0;
    if (action === 'advance') {
      if (amount === undefined) throw new UsageError('advance needs a DURATION such as 1d');
      const parsed = parseDuration(amount);
      if (parsed === null) throw new UsageError(`'${amount}' is not a duration (try 30m, 2h, 1d)`);
      ms = parsed;
    } else if (amount !== undefined) {
      throw new UsageError(`unexpected argument '${amount}'`);
    } else if (action !== 'show' && action !== 'reset') {
      throw new UsageError(`unknown action '${action}'`);
    }

    const client = await connectToControlApi(resolveDataDir(values['data-dir']));
    const state =
      action === 'advance'
        ? await client.clock.advance(ms)
        : action === 'reset'
          ? await client.clock.reset()
          : await client.clock.get();

    const offset = state.offsetMs === 0 ? 'real time' : `real time + ${describe(state.offsetMs)}`;
    stdout(`Tollgate time: ${state.nowIso} (${offset})\n`);
    return 0;
  },
};

function describe(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('') || '0s';
}
