import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectToControlApi } from '../../proxy-core/control/connect.ts';
import { startControlApi, type ControlApi } from '../../proxy-core/control/server.ts';
import { PolicyEngine } from '../../proxy-core/policies/engine.ts';
import { parsePolicy } from '../../proxy-core/policies/load.ts';
import { examplePolicy, FIXTURES } from '../policies/helpers.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const EXAMPLE = path.join(FIXTURES, 'example.yaml');

describe('tollgate export and import', { timeout: 60_000 }, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;

  before(async () => {
    dir = await tempDir('tollgate-export-cli-');
  });
  after(async () => {
    await dir.remove();
  });

  it('--strict exits 1, writes nothing and lists each lossy translation on stderr', async () => {
    const result = await runCli(['export', '--format', 'nginx', '--policy', EXAMPLE, '--strict']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /warning: nginx\.quota-not-expressible at tiers\[0\]\.limits\[1\]/);
    assert.match(result.stderr, /lossy translations; nothing written \(--strict\)/);
  });

  it('prints the canonical policy that parses back the same with --include-keys', async () => {
    const result = await runCli([
      'export',
      '--format',
      'tollgate',
      '--policy',
      EXAMPLE,
      '--include-keys',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const back = parsePolicy(result.stdout);
    assert.ok(back.ok);
    assert.deepEqual(back.policy, examplePolicy());
    assert.match(result.stderr, /tollgate\.keys-included/);
  });

  it('writes a multi-file export under -o and reports JSON with --report json', async () => {
    const out = path.join(dir.dir, 'tyk');
    const result = await runCli([
      'export',
      '--format',
      'tyk',
      '--policy',
      EXAMPLE,
      '-o',
      out + '/',
      '--report',
      'json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stderr) as { files: string[]; warnings: { code: string }[] };
    assert.deepEqual(report.files, ['tyk/apis/weather.json', 'tyk/policies.json']);
    assert.ok(report.warnings.some((w) => w.code === 'tyk.cost-ignored'));
    const policies = JSON.parse(await readFile(path.join(out, 'policies.json'), 'utf8'));
    assert.deepEqual(Object.keys(policies), ['free', 'pro']);
  });

  it('refuses a broken policy file with the path of the problem', async () => {
    const broken = path.join(dir.dir, 'broken.yaml');
    await writeFile(
      broken,
      'version: 1\ntiers:\n  - name: free\n    limits: [{ requests: -1, per: minute }]\n',
    );
    const result = await runCli(['export', '--format', 'kong', '--policy', broken]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /broken\.yaml is not a valid policy:\n {2}tiers\[0\]\.limits\[0\]\.requests/,
    );
  });

  it('refuses an unknown format with usage (exit 2)', async () => {
    const result = await runCli(['export', '--format', 'haproxy', '--policy', EXAMPLE]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown format 'haproxy'/);
  });

  it('without --policy and no running Tollgate says so', async () => {
    const result = await runCli(['export', '--format', 'kong', '--data-dir', dir.dir]);
    assert.equal(result.code, 1);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.ok(result.stderr.length > 0);
  });

  it('imports the Kong export back into an equivalent policy', async () => {
    const kong = path.join(dir.dir, 'kong.yaml');
    const exported = await runCli([
      'export',
      '--format',
      'kong',
      '--policy',
      EXAMPLE,
      '--include-keys',
      '-o',
      kong,
    ]);
    assert.equal(exported.code, 0, exported.stderr);

    const imported = await runCli(['import', '--format', 'kong', kong]);
    assert.equal(imported.code, 0, imported.stderr);
    const back = parsePolicy(imported.stdout);
    assert.ok(back.ok);
    assert.deepEqual(
      back.policy.consumers.map((c) => [c.name, c.tier, c.keys]),
      examplePolicy().consumers.map((c) => [c.name, c.tier, c.keys]),
    );
  });

  it('import refuses a file that is not the named format, naming the file', async () => {
    const result = await runCli(['import', '--format', 'openapi', EXAMPLE]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /example\.yaml: expected an OpenAPI 3\.x document/);
  });
});

describe('tollgate export of the running policy', { timeout: 60_000 }, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let engine: PolicyEngine;
  let api: ControlApi;

  before(async () => {
    dir = await tempDir('tollgate-export-running-');
    engine = new PolicyEngine({ policy: examplePolicy() });
    api = await startControlApi({ port: 0, dataDir: dir.dir, engine });
    const client = await connectToControlApi(dir.dir);
    await client.policy.replace({ text: await readFile(EXAMPLE, 'utf8'), source: 'cli' });
  });
  after(async () => {
    await api.close();
    engine.close();
    await dir.remove();
  });

  it('asks the control API for the policy when no --policy is given', async () => {
    const result = await runCli(['export', '--format', 'openapi', '--data-dir', dir.dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^openapi: 3\.1\.0$/m);
    assert.match(result.stdout, /\/v1\/forecast\/\{p1\}:/);
  });
});
