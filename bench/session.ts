/**
 * One bench session: a temp folder, the throwaway PKI, the upstream process, and the promise
 * that everything started is stopped and removed at the end, on error and on Ctrl-C.
 * Every bench entry point (run.ts, governance.ts) goes through it.
 */

import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeBenchPki } from './bench-pki.ts';
import {
  installCleanupHandlers,
  killAll,
  nodeArgs,
  startWithReadyLine,
  stopAll,
} from './children.ts';
import type { BenchContext } from './context.ts';

export type RunLengthsOf = Pick<
  BenchContext,
  'quick' | 'seconds' | 'warmupSeconds' | 'pairs' | 'pairSeconds'
>;

/**
 * Runs `body` with a ready context and exits the process: 0 when it finished, 1 when the bench
 * itself could not run (a missed target is not a failure).
 */
export async function runBenchSession(
  name: string,
  lengths: RunLengthsOf,
  body: (context: BenchContext) => Promise<void>,
): Promise<never> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), `tollgate-${name}-`));
  installCleanupHandlers(() => rmSync(tmp, { recursive: true, force: true }));
  let exitCode = 0;

  try {
    const pki = await writeBenchPki(tmp);
    const upstream = await startWithReadyLine<{ http: number; https: number }>(
      nodeArgs('upstream.ts', ['--key', pki.leafKeyPath, '--cert', pki.leafChainPath]),
    );
    await body({
      ...lengths,
      connections: 50,
      tmp,
      pki,
      upstream: { pid: upstream.pid, ...upstream.ready },
    });
  } catch (error) {
    process.stderr.write(`bench: could not run: ${(error as Error).stack ?? error}\n`);
    exitCode = 1;
  } finally {
    await stopAll();
    killAll();
    await rm(tmp, { recursive: true, force: true });
  }
  process.exit(exitCode);
}
