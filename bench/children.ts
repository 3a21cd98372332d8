/**
 * Every process the bench starts goes through here, so all of them are stopped at the end of the
 * run, on error, on Ctrl-C and on an uncaught exception: the bench never leaves a proxy behind.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freshBundle, ROOT } from '../bin/cli-bundle.mjs';

const running = new Set<ChildProcess>();

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));

/** Node with tsx, as `npm run bench` itself runs, for the bench's own TypeScript entries. */
export function nodeArgs(
  script: string,
  args: string[] = [],
  nodeFlags: string[] = [],
): [string, string[]] {
  return [process.execPath, [...nodeFlags, '--import', 'tsx', BENCH_DIR + script, ...args]];
}

/**
 * A proxy under test, run the way `tollgate` runs: built by bin/tollgate's bundler (no tsx),
 * under the node flags on bin/tollgate's shebang line. `nodeFlags` (`--cpu-prof`, …) follow.
 */
export async function builtNodeArgs(
  script: string,
  args: string[] = [],
  nodeFlags: string[] = [],
): Promise<[string, string[]]> {
  const outDir = `node_modules/.tollgate-bench-${script.replace(/\.ts$/, '')}`;
  const built = await freshBundle(`bench/${script}`, outDir);
  if (!built) throw new Error(`cannot build bench/${script} into ${outDir}`);
  return [process.execPath, [...binNodeFlags(), ...nodeFlags, built, ...args]];
}

/** The flags of `#!/usr/bin/env -S node FLAGS` in bin/tollgate. */
export function binNodeFlags(): string[] {
  const shebang = readFileSync(path.join(ROOT, 'bin', 'tollgate'), 'utf8').split('\n', 1)[0]!;
  const words = shebang.trim().split(/\s+/);
  return words.slice(words.indexOf('node') + 1);
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the ready line or port; 20 s by default. */
  timeoutMs?: number;
}

export interface Started<T> {
  child: ChildProcess;
  pid: number;
  ready: T;
  stop(): Promise<void>;
}

/**
 * Starts a process that prints a `{"ready": …}` line on stdout once it serves, or
 * `{"unavailable": "why"}` when what it needs has not landed yet (that rejects with
 * `UnavailableError`).
 */
export async function startWithReadyLine<T>(
  command: [string, string[]],
  options: StartOptions = {},
): Promise<Started<T>> {
  const child = launch(command, options.env);
  const lines = createInterface({ input: child.stdout! });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk).slice(-4000)));

  const ready = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new Error(`${label(command)}: not ready after ${options.timeoutMs ?? 20_000} ms`)),
      options.timeoutMs ?? 20_000,
    );
    lines.on('line', (line) => {
      const message = parseLine(line);
      if (!message) return;
      clearTimeout(timer);
      if ('unavailable' in message) reject(new UnavailableError(String(message.unavailable)));
      else if ('ready' in message) resolve(message.ready as T);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label(command)} exited with ${code} before ready:\n${stderr.trim()}`));
    });
  });

  return { child, pid: child.pid!, ready, stop: () => stop(child) };
}

/** Starts a foreign server (mitmdump) and waits until its port accepts connections. */
export async function startWithPort(
  command: [string, string[]],
  port: number,
  options: StartOptions = {},
): Promise<Started<{ port: number }>> {
  const child = launch(command, options.env);
  let stderr = '';
  const keep = (chunk: Buffer) => (stderr = (stderr + chunk).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);

  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (!(await accepts(port))) {
    if (child.exitCode !== null) throw new Error(`${label(command)} exited: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      await stop(child);
      throw new Error(`${label(command)}: port ${port} not open in time`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, pid: child.pid!, ready: { port }, stop: () => stop(child) };
}

/**
 * Runs a process to completion and returns its stdout; rejects on a non-zero exit. `onLine`
 * sees each stdout line as it arrives (a child announcing a phase).
 */
export function runToEnd(
  command: [string, string[]],
  timeoutMs: number,
  onLine?: (line: string) => void,
): Promise<string> {
  const child = launch(command);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  if (onLine) createInterface({ input: child.stdout! }).on('line', onLine);
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk).slice(-4000)));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label(command)}: still running after ${timeoutMs} ms, killed`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${label(command)} exited with ${code}: ${stderr.trim()}`));
    });
  });
}

export class UnavailableError extends Error {}

/** Kills whatever is still running; safe to call from an 'exit' handler (synchronous). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map(stop));
}

/** `alsoOnExit` must be synchronous (an 'exit' handler cannot wait), e.g. removing a temp dir. */
export function installCleanupHandlers(alsoOnExit: () => void = () => undefined): void {
  process.once('exit', () => {
    killAll();
    alsoOnExit();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

function launch([file, args]: [string, string[]], env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(file, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  child.once('error', () => running.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL if the process is still there after 3 s. */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function parseLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function label([file, args]: [string, string[]]): string {
  const script = args.find((a) => a.endsWith('.ts') || a.endsWith('.js'));
  return script ? script.split('/').pop()! : file.split('/').pop()!;
}

/** A port that was free a moment ago on 127.0.0.1, for servers that cannot report their own. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
