import { UsageError, type Command, type CommandContext } from './command.ts';

/** Commands load lazily, so `tollgate ca --path` does not pay for the proxy's imports. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve.ts')).serveCommand,
  ca: async () => (await import('./commands/ca.ts')).caCommand,
  status: async () => (await import('./commands/status.ts')).statusCommand,
  logs: async () => (await import('./commands/logs.ts')).logsCommand,
  usage: async () => (await import('./commands/usage.ts')).usageCommand,
  policy: async () => (await import('./commands/policy.ts')).policyCommand,
  token: async () => (await import('./commands/token.ts')).tokenCommand,
  keys: async () => (await import('./commands/keys.ts')).keysCommand,
  clock: async () => (await import('./commands/clock.ts')).clockCommand,
  export: async () => (await import('./commands/export.ts')).exportCommand,
  import: async () => (await import('./commands/import.ts')).importCommand,
};

export async function run(argv: string[], context?: Partial<CommandContext>): Promise<number> {
  const stdout = context?.stdout ?? ((text: string) => process.stdout.write(text));
  const stderr = context?.stderr ?? ((text: string) => process.stderr.write(text));
  const [name, ...rest] = argv;

  if (!name || name === 'help' || name === '--help' || name === '-h') {
    stdout(await overview());
    return name ? 0 : 2;
  }

  const load = COMMANDS[name];
  if (!load) {
    stderr(`tollgate: unknown command '${name}'. Run 'tollgate help' for the list.\n`);
    return 2;
  }

  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    stdout(command.usage + '\n');
    return 0;
  }

  try {
    return await command.run({ argv: rest, stdout, stderr });
  } catch (error) {
    if (error instanceof UsageError) {
      stderr(`tollgate ${name}: ${error.message}\n\n${command.usage}\n`);
      return 2;
    }
    // Expected failures carry a message meant for the user; anything else is a bug.
    stderr(`tollgate ${name}: ${(error as Error).message}\n`);
    return 1;
  }
}

async function overview(): Promise<string> {
  const lines = ['Usage: tollgate <command> [options]', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    lines.push(`  ${name.padEnd(10)} ${(await load()).summary}`);
  }
  lines.push('', "Run 'tollgate <command> --help' for a command's options.");
  return lines.join('\n') + '\n';
}
