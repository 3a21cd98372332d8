import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startControlApi, type ControlApi } from '../../proxy-core/control/server.ts';
import { PolicyEngine } from '../../proxy-core/policies/engine.ts';
import { fixtureText, policyFrom, withKey } from '../policies/helpers.ts';
import { runCli, TOLLGATE_BIN } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';
import { until } from '../support/until.ts';
import { ALLOWED, RATE_LIMITED, exchange } from '../traffic/exchange-records.ts';

const harValidator = createRequire(import.meta.url)('har-validator') as {
  har(data: unknown): Promise<unknown>;
};

describe(
  'tollgate status, logs and usage against a running control API',
  { timeout: 60_000 },
  () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let engine: PolicyEngine;
    let api: ControlApi;

    before(async () => {
      dir = await tempDir();
      engine = new PolicyEngine({ policy: policyFrom(fixtureText('example.yaml')) });
      api = await startControlApi({ port: 0, dataDir: dir.dir, engine });
    });
    after(async () => {
      await api.close();
      engine.close();
      await dir.remove();
    });

    it('`tollgate logs --follow` prints new requests as they happen, until Ctrl+C', async () => {
      const first = exchange({ annotations: ALLOWED, request: { path: '/v1/forecast/first' } });
      api.requestLog.completed(first);

      const child = spawn(
        process.execPath,
        [TOLLGATE_BIN, 'logs', '--follow', '--consumer', 'alice', '--data-dir', dir.dir],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

      try {
        await until(
          () => stdout.includes('/v1/forecast/first'),
          () => `stderr: ${stderr}`,
        );

        // Two requests a while apart: each shows up on its own, not only at exit.
        api.requestLog.completed(
          exchange({
            annotations: RATE_LIMITED,
            status: 429,
            request: { path: '/v1/forecast/second' },
          }),
        );
        await until(
          () => stdout.includes('/v1/forecast/second'),
          () => `stderr: ${stderr}`,
        );
        assert.match(stdout, /\/v1\/forecast\/second 429 \d+ms alice\/free refused RATE_LIMITED/);

        api.requestLog.completed(
          exchange({ annotations: { ...ALLOWED, consumer: 'bob' }, request: { path: '/v1/bob' } }),
        );
        api.requestLog.completed(
          exchange({ annotations: ALLOWED, request: { path: '/v1/third' } }),
        );
        await until(
          () => stdout.includes('/v1/third'),
          () => `stderr: ${stderr}`,
        );
        assert.ok(!stdout.includes('/v1/bob'), 'the --consumer filter holds on the stream');
      } finally {
        child.kill('SIGINT');
      }
      assert.equal(await exited, 0, stderr);
    });

    it('`tollgate logs --har FILE` writes a HAR the validator accepts', async () => {
      const file = path.join(dir.dir, 'out.har');
      const result = await runCli([
        'logs',
        '--har',
        file,
        '--status',
        '429',
        '--data-dir',
        dir.dir,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Wrote 1 entries/);

      const har = JSON.parse(await readFile(file, 'utf8'));
      await harValidator.har(har);
      assert.equal(har.log.entries[0].response.status, 429);
    });

    it('`tollgate status` shows the ports and version; --json the whole answer', async () => {
      const text = await runCli(['status', '--data-dir', dir.dir]);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`Control port:\\s+${api.port}`));
      assert.match(text.stdout, /Tollgate \d+\.\d+\.\d+ \(pid \d+\)/);

      const json = await runCli(['status', '--json', '--data-dir', dir.dir]);
      assert.equal(JSON.parse(json.stdout).ports.control, api.port);
    });

    it('`tollgate usage` lists what each consumer used', async () => {
      await engine.decide(withKey('free-key-123'));
      const result = await runCli(['usage', '--data-dir', dir.dir]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /acme-free\s+free\s+free-minute\s+1\/5/);
    });

    it('says clearly when no Tollgate runs on the data dir', async () => {
      const empty = await tempDir();
      try {
        const result = await runCli(['status', '--data-dir', empty.dir]);
        assert.equal(result.code, 1);
        assert.match(result.stderr, /no running Tollgate found/);
      } finally {
        await empty.remove();
      }
    });
  },
);
