/**
 * Where a proxy spends its CPU under load: runs Tollgate (or the reference) with `--cpu-prof`
 * under the same load as the bench's rows, then prints the functions with the most self time
 * and the share of time by area (Node internals, TLS, Tollgate's own code, dependencies).
 *
 * Usage: node --import tsx bench/profile.ts [--target tollgate|reference] [--protocol http|https]
 *          [--seconds 10] [--out DIR] [--no-traffic]
 * --no-traffic runs Tollgate without the request log, metrics and control API (the proxy alone).
 * The .cpuprofile is kept in DIR (default: the OS temp folder) for Chrome DevTools.
 */

import { rmSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { writeBenchPki } from './bench-pki.ts';
import { installCleanupHandlers, nodeArgs, startWithReadyLine, stopAll } from './children.ts';
import type { BenchContext } from './context.ts';
import { startProxy } from './targets.ts';
import { drive, type Protocol } from './throughput.ts';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'tollgate' },
    protocol: { type: 'string', default: 'http' },
    seconds: { type: 'string', default: '10' },
    out: { type: 'string', default: os.tmpdir() },
    'no-traffic': { type: 'boolean', default: false },
  },
});
const target = values.target as 'tollgate' | 'reference';
const protocol = values.protocol as Protocol;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const tmp = await mkdtemp(path.join(os.tmpdir(), 'tollgate-profile-'));
installCleanupHandlers(() => rmSync(tmp, { recursive: true, force: true }));
try {
  const pki = await writeBenchPki(tmp);
  const upstream = await startWithReadyLine<{ http: number; https: number }>(
    nodeArgs('upstream.ts', ['--key', pki.leafKeyPath, '--cert', pki.leafChainPath]),
  );
  const context: BenchContext = {
    quick: false,
    seconds: Number(values.seconds),
    warmupSeconds: 2,
    pairs: 1,
    pairSeconds: Number(values.seconds),
    connections: 50,
    tmp,
    pki,
    upstream: { pid: upstream.pid, ...upstream.ready },
  };

  const profileDir = path.join(tmp, 'profile');
  const flags = ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const proxy = await startProxy(target, context, {
    nodeFlags: flags,
    noTraffic: values['no-traffic']!,
  });
  if ('skipped' in proxy) throw new Error(`${target}: ${proxy.skipped}`);
  const result = await drive(context, protocol, proxy);
  await proxy.stop();

  const [file] = await readdir(profileDir);
  if (!file) throw new Error('no profile was written (did the proxy exit cleanly on SIGTERM?)');
  const kept = path.join(values.out!, `tollgate-bench-${target}-${protocol}.cpuprofile`);
  await copyFile(path.join(profileDir, file), kept);

  const profile = JSON.parse(await readFile(kept, 'utf8')) as { nodes: ProfileNode[] };
  process.stdout.write(
    `${target} ${protocol}: ${Math.round(result.rps)} req/s, ${result.requests} requests ` +
      `measured, under the profiler ` +
      `(slower than unprofiled)\nprofile: ${kept}\n\n${summarize(profile.nodes)}\n`,
  );
} finally {
  await stopAll();
  await rm(tmp, { recursive: true, force: true });
}

function summarize(nodes: ProfileNode[]): string {
  const total = nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
  const idle = nodes
    .filter((n) =>
      ['(idle)', '(program)', '(garbage collector)'].includes(n.callFrame.functionName),
    )
    .map((n) => `${n.callFrame.functionName} ${pct(n.hitCount ?? 0, total)}`);

  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const node of nodes) {
    const hits = node.hitCount ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
    byArea.set(area(url, functionName), (byArea.get(area(url, functionName)) ?? 0) + hits);
  }

  const top = (map: Map<string, number>, count: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, hits]) => `  ${pct(hits, total).padStart(6)}  ${name}`)
      .join('\n');
  return [
    `samples: ${total}; ${idle.join(', ')}`,
    'self time by area:',
    top(byArea, 12),
    'self time by function:',
    top(byFunction, 30),
  ].join('\n');
}

function area(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.includes('/proxy-core/')) return 'tollgate: ' + url.split('/proxy-core/')[1];
  if (url.includes('/bench/')) return 'bench: ' + url.split('/bench/')[1];
  // The proxies run bundled (bin/cli-bundle.mjs): one file, so one area for all of Tollgate.
  if (url.includes('/node_modules/.tollgate-')) return 'tollgate + bench entry (bundled)';
  if (url.includes('/node_modules/'))
    return 'dep: ' + url.split('/node_modules/')[1]!.split('/')[0];
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:');
  return url;
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/(proxy-core|bench|node_modules)\//, '$1/');
}

function pct(part: number, total: number): string {
  return `${((part / Math.max(total, 1)) * 100).toFixed(1)}%`;
}
