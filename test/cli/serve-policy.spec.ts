import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { curl } from '../server/clients.ts';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';
import { startTollgateProcess, type TollgateProcess } from '../support/tollgate.ts';
import { startHttpUpstream, type TestUpstream } from '../support/upstream.ts';

const EXAMPLE = new URL('../fixtures/policies/example.yaml', import.meta.url);

/** Status codes of `count` GETs with the free key, one after the other. */
async function freeKeyStatuses(serve: TollgateProcess, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const result = await curl([
      '-x',
      serve.proxyUrl,
      '-H',
      'x-api-key: free-key-123',
      'http://api.weather.test/v1/forecast/today',
    ]);
    statuses.push(result.status);
  }
  return statuses;
}

/** Polls until `check` passes, for changes applied by a file watcher. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`never happened: ${what}`);
}

describe('tollgate serve --policy', { timeout: 90_000 }, () => {
  let upstream: TestUpstream;
  let data: Awaited<ReturnType<typeof tempDir>>;
  let policyFile: string;
  let exampleText: string;

  before(async () => {
    upstream = await startHttpUpstream();
    data = await tempDir('tollgate-serve-policy-');
    policyFile = path.join(data.dir, 'policy.yaml');
    const example = await readFile(EXAMPLE, 'utf8');
    exampleText = example.replace('http://127.0.0.1:5000', upstream.url);
    assert.notEqual(exampleText, example, 'the example names the upstream it maps to');
    await writeFile(policyFile, exampleText);
  });
  after(async () => {
    await upstream?.close();
    await data?.remove();
  });

  const serveArgs = (dataDir: string) => [
    ...['--proxy-port', '0', '--control-port', '0'],
    ...['--data-dir', dataDir, '--policy', policyFile],
  ];

  it('enforces the file, refuses an invalid edit and applies a valid one', async () => {
    const serve = await startTollgateProcess(serveArgs(path.join(data.dir, 'a')));
    try {
      assert.deepEqual(await freeKeyStatuses(serve, 6), [200, 200, 200, 200, 200, 429]);

      const status = await runCli(['status', '--data-dir', path.join(data.dir, 'a')]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /Control port/);

      await writeFile(policyFile, exampleText.replace('requests: 5, per: minute', 'requests: x'));
      await sleep(600);
      assert.deepEqual(await freeKeyStatuses(serve, 1), [429], 'the old policy stays in force');
      assert.match(serve.stderr(), /policy file change refused/);

      await writeFile(
        policyFile,
        exampleText.replace('requests: 5, per: minute', 'requests: 50, per: minute'),
      );
      await eventually(
        async () => (await freeKeyStatuses(serve, 1))[0] === 200,
        'the raised limit admits the free key again',
      );
    } finally {
      await serve.stop();
      await writeFile(policyFile, exampleText);
    }
  });

  it('refuses to start a second instance on the same data dir, naming the owner', async () => {
    const dataDir = path.join(data.dir, 'b');
    const first = await startTollgateProcess(serveArgs(dataDir));
    try {
      const second = await runCli(['serve', ...serveArgs(dataDir)]);
      assert.equal(second.code, 1);
      assert.match(second.stderr, new RegExp(`pid ${first.child.pid}`));
      assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(await freeKeyStatuses(first, 1), [200], 'the first keeps serving');
    } finally {
      await first.stop();
    }
  });

  it('does not start on a broken policy file and says where each error is', async () => {
    const broken = path.join(data.dir, 'broken.yaml');
    await writeFile(broken, exampleText.replace('per: minute', 'per: fortnight'));

    const result = await runCli([
      'serve',
      ...['--proxy-port', '0', '--control-port', '0'],
      ...['--data-dir', path.join(data.dir, 'c'), '--policy', broken],
    ]);

    assert.equal(result.code, 1);
    assert.match(result.stderr, /tiers\[0\]\.limits\[0\]\.per/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });
});
