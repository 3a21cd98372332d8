/**
 * Debian's Chromium driven by playwright-core, launched the same way by every browser test:
 * headless, no sandbox (tests may run as root), and no background traffic that could reach the
 * network or the proxy under test.
 */

import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

const run = promisify(execFile);

export interface ChromiumOptions {
  /** `--proxy-server`, e.g. a test Tollgate's `proxyUrl`. */
  proxy?: string;
  /** `--host-resolver-rules`, e.g. `MAP *.test 127.0.0.1`. */
  hostRules?: string;
  /** HOME for the browser, so its NSS trust store is the one under it (see `nssHomeTrusting`). */
  home?: string;
  /** Further command-line switches. */
  args?: string[];
  /** Launch timeout in ms; playwright's default when left out. */
  timeout?: number;
}

export function launchChromium(options: ChromiumOptions = {}): Promise<Browser> {
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
  ];
  if (options.hostRules) args.push(`--host-resolver-rules=${options.hostRules}`);
  if (options.proxy) args.push(`--proxy-server=${options.proxy}`);
  args.push(...(options.args ?? []));

  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args,
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    ...(options.home === undefined ? {} : { env: { ...process.env, HOME: options.home } }),
  });
}

/**
 * Makes `home` a HOME whose NSS database trusts the CA in `caPath`: Chromium on Linux trusts
 * what the user's NSS database trusts, so this is how a user would trust Tollgate's CA.
 */
export async function nssHomeTrusting(home: string, caPath: string): Promise<void> {
  const dir = path.join(home, '.pki', 'nssdb');
  const nssdb = `sql:${dir}`;
  await mkdir(dir, { recursive: true });
  await run('certutil', ['-d', nssdb, '-N', '--empty-password'], { timeout: 10_000 });
  const trust = ['-d', nssdb, '-A', '-t', 'C,,', '-n', 'tollgate', '-i', caPath];
  await run('certutil', trust, { timeout: 10_000 });
}
