/**
 * Tollgate's local CA in a throwaway data dir, shared by the certificate spec files, and the
 * openssl and file-mode probes they check it with.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';
import { CertificateAuthority } from '../../proxy-core/server/tls/certificate-authority.ts';
import { tempDir } from './temp-dir.ts';

const run = promisify(execFile);

export class TestCa {
  /** The temp folder holding `dataDir` and anything else a test makes. */
  dir = '';
  dataDir = '';
  ca!: CertificateAuthority;
}

/** Registers hooks that create a CA before the file's tests and remove its folder after them. */
export function useTestCa(): TestCa {
  const fixture = new TestCa();
  let remove: (() => Promise<void>) | undefined;
  before(async () => {
    const tmp = await tempDir();
    remove = tmp.remove;
    fixture.dir = tmp.dir;
    fixture.dataDir = path.join(tmp.dir, 'data');
    fixture.ca = await CertificateAuthority.loadOrCreate({ dataDir: fixture.dataDir });
  });
  after(() => remove?.());
  return fixture;
}

/** Runs openssl with stdin closed (s_client would otherwise wait for input). */
export async function openssl(...args: string[]): Promise<string> {
  const pending = run('openssl', args, { timeout: 10_000 });
  pending.child.stdin?.end();
  return (await pending).stdout;
}

/** `openssl x509 -text` of a PEM, written to a scratch file under `dir`. */
export async function opensslText(dir: string, pem: string): Promise<string> {
  const file = path.join(dir, `cert-${Math.random().toString(16).slice(2)}.pem`);
  await writeFile(file, pem);
  return openssl('x509', '-in', file, '-noout', '-text');
}

export function fileMode(stats: { mode: number }): number {
  return stats.mode & 0o777;
}

/** Positive and at least 64 bits, as CA/Browser Forum rules ask of serial numbers. */
export function assertGoodSerial(hex: string): void {
  const value = BigInt('0x' + hex);
  assert.ok(value > 0n, `serial ${hex} is positive`);
  assert.ok(value.toString(2).length >= 64, `serial ${hex} has at least 64 bits`);
}
