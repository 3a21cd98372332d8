/**
 * Real NGINX for the export tests: the exported http-context file wrapped in a minimal
 * nginx.conf under a temp prefix (pid, logs and temp paths inside it), `nginx -t` on it, and a
 * foreground nginx on a free loopback port that `stop()` ends.
 */

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../support/net.ts';
import { tempDir } from '../support/temp-dir.ts';

export const NGINX_BIN = '/usr/sbin/nginx';

export interface NginxPrefix {
  dir: string;
  confPath: string;
  port: number;
  remove(): Promise<void>;
}

/** Writes the export as `tollgate.conf` with its `listen 80;` moved to a free loopback port. */
export async function nginxPrefix(exported: string): Promise<NginxPrefix> {
  const temp = await tempDir('tollgate-nginx-');
  const port = await freePort();
  await mkdir(path.join(temp.dir, 'logs'));
  await writeFile(
    path.join(temp.dir, 'tollgate.conf'),
    exported.replaceAll('listen 80;', `listen 127.0.0.1:${port};`),
  );

  const confPath = path.join(temp.dir, 'nginx.conf');
  const inside = (name: string) => path.join(temp.dir, name);
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  await writeFile(
    confPath,
    `${user}daemon off;
worker_processes 1;
pid ${inside('nginx.pid')};
error_log ${inside('logs/error.log')} warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${inside('client_temp')};
  proxy_temp_path ${inside('proxy_temp')};
  fastcgi_temp_path ${inside('fastcgi_temp')};
  uwsgi_temp_path ${inside('uwsgi_temp')};
  scgi_temp_path ${inside('scgi_temp')};
  include tollgate.conf;
}
`,
  );
  return { dir: temp.dir, confPath, port, remove: temp.remove };
}

/** `nginx -t`: resolves with its exit code and output (nginx reports on stderr). */
export function nginxTest(prefix: NginxPrefix): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      NGINX_BIN,
      ['-t', '-p', prefix.dir, '-c', prefix.confPath],
      { timeout: 10_000 },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code, output: stdout + stderr });
      },
    );
  });
}

export interface RunningNginx {
  port: number;
  stop(): Promise<void>;
}

export async function startNginx(prefix: NginxPrefix): Promise<RunningNginx> {
  const child = spawn(NGINX_BIN, ['-p', prefix.dir, '-c', prefix.confPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const stop = () => stopChild(child);

  try {
    await waitForPort(prefix.port, child, () => stderr);
  } catch (error) {
    await stop();
    const log = await readFile(path.join(prefix.dir, 'logs/error.log'), 'utf8').catch(() => '');
    throw new Error(`${(error as Error).message}\n${log}`, { cause: error });
  }
  return { port: prefix.port, stop };
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nginx did not listen on 127.0.0.1:${port} within 10 s`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    // QUIT is nginx's graceful stop; the master takes its worker with it.
    child.kill('SIGQUIT');
  });
}
