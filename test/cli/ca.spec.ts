import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';
import { serveOnFreePorts } from '../support/tollgate.ts';

describe('tollgate ca', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let dataDir: string;
  /** Where the default data dir would be; --data-dir must keep the CA out of it. */
  let envDir: string;
  const env = () => ({ TOLLGATE_DATA_DIR: envDir });

  before(async () => {
    tmp = await tempDir();
    dataDir = path.join(tmp.dir, 'given');
    envDir = path.join(tmp.dir, 'default');
  });
  after(() => tmp.remove());

  it('--path creates the CA under --data-dir and prints only its path', async () => {
    const result = await runCli(['ca', '--path', '--data-dir', dataDir], { env: env() });

    assert.equal(result.code, 0, result.stderr);
    const certPath = path.join(dataDir, 'ca', 'certs', 'ca.pem');
    assert.equal(result.stdout, certPath + '\n');
    assert.ok(new X509Certificate(await readFile(certPath)).ca);
    assert.equal(existsSync(envDir), false);
  });

  it('--pem prints the CA certificate exactly as stored', async () => {
    const result = await runCli(['ca', '--pem', '--data-dir', dataDir], { env: env() });

    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      await readFile(path.join(dataDir, 'ca', 'certs', 'ca.pem'), 'utf8'),
    );
  });

  it('without a flag prints path, SHA-256 fingerprint and how to trust it', async () => {
    const result = await runCli(['ca', '--data-dir', dataDir], { env: env() });

    assert.equal(result.code, 0, result.stderr);
    const certPath = path.join(dataDir, 'ca', 'certs', 'ca.pem');
    const cert = new X509Certificate(await readFile(certPath));
    assert.ok(result.stdout.includes(`CA certificate: ${certPath}`));
    assert.ok(result.stdout.includes(`SHA-256:        ${cert.fingerprint256}`));
    assert.match(result.stdout, /NODE_EXTRA_CA_CERTS=/);
    assert.match(result.stdout, /curl --cacert/);
  });

  it('uses the default data dir (TOLLGATE_DATA_DIR here) without --data-dir', async () => {
    const result = await runCli(['ca', '--path'], { env: env() });

    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, path.join(envDir, 'ca', 'certs', 'ca.pem') + '\n');
  });

  it('--regenerate replaces the CA with a new serial and says to trust it again', async () => {
    const certPath = path.join(dataDir, 'ca', 'certs', 'ca.pem');
    const before = new X509Certificate(await readFile(certPath));

    const result = await runCli(['ca', '--regenerate', '--data-dir', dataDir], { env: env() });

    assert.equal(result.code, 0, result.stderr);
    const now = new X509Certificate(await readFile(certPath));
    assert.notEqual(now.serialNumber, before.serialNumber);
    assert.equal(now.subject, before.subject, 'same install, same subject');
    assert.match(result.stdout, /new CA was created/);
    assert.ok(result.stdout.includes(now.fingerprint256));
  });

  it('--regenerate refuses while Tollgate runs on the data dir, works once stopped', async () => {
    const running = path.join(tmp.dir, 'running');
    const serve = await serveOnFreePorts(running);
    const certPath = path.join(running, 'ca', 'certs', 'ca.pem');
    const before = await readFile(certPath, 'utf8');
    try {
      const refused = await runCli(['ca', '--regenerate', '--data-dir', running]);

      assert.equal(refused.code, 1);
      assert.ok(refused.stderr.includes(`(pid ${serve.child.pid}) is running on ${running}`));
      assert.match(refused.stderr, /stop it, regenerate, then start it again/);
      assert.equal(await readFile(certPath, 'utf8'), before, 'the CA in use is untouched');
    } finally {
      assert.equal(await serve.stop(), 0);
    }

    const regenerated = await runCli(['ca', '--regenerate', '--data-dir', running]);
    assert.equal(regenerated.code, 0, regenerated.stderr);
    assert.notEqual(await readFile(certPath, 'utf8'), before);
  });

  it('refuses two output modes at once with exit code 2 and its usage', async () => {
    const result = await runCli(['ca', '--path', '--pem', '--data-dir', dataDir], { env: env() });

    assert.equal(result.code, 2);
    assert.match(result.stderr, /choose one of --path, --pem/);
    assert.match(result.stderr, /Usage: tollgate ca/);
  });

  it('reports an unreadable CA key with its path and the fix, not a stack trace', async () => {
    const broken = path.join(tmp.dir, 'broken');
    assert.equal((await runCli(['ca', '--path', '--data-dir', broken])).code, 0);
    const keyPath = path.join(broken, 'ca', 'keys', 'ca.private.key');
    await writeFile(keyPath, 'not a key\n');

    const result = await runCli(['ca', '--path', '--data-dir', broken]);

    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.ok(result.stderr.includes(`cannot read ${keyPath}`), result.stderr);
    assert.match(result.stderr, /tollgate ca --regenerate/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  it('gives two commands started together on a fresh data dir one and the same CA', async () => {
    const fresh = path.join(tmp.dir, 'race');
    const [first, second] = await Promise.all([
      runCli(['ca', '--data-dir', fresh]),
      runCli(['ca', '--data-dir', fresh]),
    ]);

    assert.equal(first.code, 0, first.stderr);
    assert.equal(second.code, 0, second.stderr);
    const cert = new X509Certificate(await readFile(path.join(fresh, 'ca', 'certs', 'ca.pem')));
    assert.ok(first.stdout.includes(cert.fingerprint256));
    assert.ok(second.stdout.includes(cert.fingerprint256));
    assert.equal((await runCli(['ca', '--path', '--data-dir', fresh])).code, 0, 'key matches cert');
  });
});
