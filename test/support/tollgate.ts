/**
 * A whole Tollgate started in-process on free ports with a temp data dir, the way
 * `tollgate serve` starts it, and stopped (ports, sockets, files) by `stop()`.
 */

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { startTollgate, type Tollgate, type TollgateOptions } from '../../proxy-core/app.ts';
import { TOLLGATE_BIN } from './cli.ts';
import { freePort } from './net.ts';
import { tempDir } from './temp-dir.ts';

export interface TestTollgate {
  tollgate: Tollgate;
  dataDir: string;
  /** `http://127.0.0.1:PORT` of the forward proxy. */
  proxyUrl: string;
  /** The control port Tollgate was told about (refused as a proxy target). */
  controlPort: number;
  caPath: string;
  caPem: string;
  stop(): Promise<void>;
}

/**
 * Options are TollgateOptions minus the data dir; ports default to free ones. Pass `dataDir` to
 * reuse one (and its CA) across starts; it is then left in place.
 */
export async function startTestTollgate(
  options: Partial<TollgateOptions> = {},
): Promise<TestTollgate> {
  const temp = options.dataDir ? undefined : await tempDir('tollgate-proxy-');
  const dataDir = options.dataDir ?? temp!.dir;

  try {
    const controlPort = options.controlPort ?? (await freePort());
    const tollgate = await startTollgate({ proxyPort: 0, ...options, controlPort, dataDir });
    return {
      tollgate,
      dataDir,
      proxyUrl: tollgate.proxyUrl,
      controlPort,
      caPath: tollgate.ca.certPath,
      caPem: await readFile(tollgate.ca.certPath, 'utf8'),
      stop: async () => {
        await tollgate.close();
        await temp?.remove();
      },
    };
  } catch (error) {
    await temp?.remove();
    throw error;
  }
}

export interface TollgateProcess {
  child: ChildProcessWithoutNullStreams;
  /** `http://127.0.0.1:PORT` from the printed `HTTP_PROXY=` line. */
  proxyUrl: string;
  /** The CA path from the printed `NODE_EXTRA_CA_CERTS=` line. */
  caPath: string;
  stdout: () => string;
  stderr: () => string;
  /** Sends SIGTERM and resolves with the exit code (SIGKILL after 5 s). */
  stop(): Promise<number | null>;
}

/** `bin/tollgate serve` on free proxy and control ports with `dataDir`, plus `args`. */
export function serveOnFreePorts(dataDir: string, args: string[] = []): Promise<TollgateProcess> {
  return startTollgateProcess([
    ...['--proxy-port', '0', '--control-port', '0', '--data-dir', dataDir],
    ...args,
  ]);
}

/** `bin/tollgate serve ARGS` in a child process, resolved once it printed its env lines. */
export function startTollgateProcess(args: string[]): Promise<TollgateProcess> {
  const child = spawn(process.execPath, [TOLLGATE_BIN, 'serve', ...args], { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));

  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`serve printed no env lines within 20 s:\n${stdout}\n${stderr}`));
    }, 20_000);
    const exitedEarly = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${stdout}\n${stderr}`));
    };
    child.once('exit', exitedEarly);
    child.stdout.on('data', () => {
      const proxyUrl = /HTTP_PROXY=(\S+)/.exec(stdout)?.[1];
      const caPath = /NODE_EXTRA_CA_CERTS=(\S+)/.exec(stdout)?.[1];
      if (!proxyUrl || !caPath) return;
      clearTimeout(timer);
      child.off('exit', exitedEarly);
      resolve({ child, proxyUrl, caPath, stdout: () => stdout, stderr: () => stderr, stop });
    });
  });
}
