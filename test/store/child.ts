import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Runs `test/store/fixtures/<name>.ts` in its own Node process (through tsx). */
export function spawnFixture(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): ChildProcessWithoutNullStreams {
  const script = fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url));
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: 'pipe',
  });
}

/** Resolves with the first stdout line matching `pattern`; rejects on exit or after `ms`. */
export function waitForLine(
  child: ChildProcessWithoutNullStreams,
  pattern: RegExp,
  ms = 15_000,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(
      () => finish(new Error(`no line matching ${pattern} in ${ms} ms`)),
      ms,
    );

    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = buffer
        .split('\n')
        .map((line) => line.match(pattern))
        .find(Boolean);
      if (match) finish(null, match);
    };
    const onErr = (chunk: Buffer) => (stderr += chunk.toString());
    const onExit = (code: number | null) =>
      finish(new Error(`fixture exited (${code}) before ${pattern}: ${stderr}`));

    function finish(error: Error | null, match?: RegExpMatchArray) {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onErr);
      child.off('close', onExit);
      if (error) reject(error);
      else resolve(match!);
    }

    child.stdout.on('data', onData);
    child.stderr.on('data', onErr);
    child.on('close', onExit);
  });
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
