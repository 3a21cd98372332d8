import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';
import { serveOnFreePorts } from '../support/tollgate.ts';
import { startHttpUpstream, type EchoBody, type TestUpstream } from '../support/upstream.ts';
import { curl, curlVia } from '../server/clients.ts';
import type { RequestLogEntry } from '../../proxy-core/contract/control-api.ts';

describe('tollgate serve', { timeout: 60_000 }, () => {
  let upstream: TestUpstream;
  let data: Awaited<ReturnType<typeof tempDir>>;

  before(async () => {
    upstream = await startHttpUpstream();
    data = await tempDir('tollgate-serve-');
  });
  after(async () => {
    await upstream?.close();
    await data?.remove();
  });

  it('prints where it listens and env lines, proxies HTTPS with its CA, and stops on SIGTERM', async () => {
    const serve = await serveOnFreePorts(data.dir, ['--map', `api.example.test=${upstream.url}`]);
    try {
      const out = serve.stdout();
      assert.match(out, /Forward proxy: +http:\/\/127\.0\.0\.1:\d+/);
      assert.match(out, /export HTTPS_PROXY=http:\/\/127\.0\.0\.1:\d+/);
      for (const name of ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE']) {
        assert.ok(out.includes(`${name}=${serve.caPath}`), `${name} line`);
      }
      assert.ok(serve.caPath.startsWith(data.dir), 'the CA lives in --data-dir');

      const result = await curlVia(serve, ['https://api.example.test/cli']);
      assert.equal(result.status, 200, result.stderr);
      assert.equal((JSON.parse(result.body) as EchoBody).url, '/cli');
    } finally {
      assert.equal(await serve.stop(), 0, `clean exit on SIGTERM; stderr: ${serve.stderr()}`);
    }
  });

  it('runs a reverse proxy with --reverse URL --port N', async () => {
    const serve = await serveOnFreePorts(data.dir, ['--reverse', upstream.url, '--port', '0']);
    try {
      const reverseUrl = /Reverse proxy: +(\S+)/.exec(serve.stdout())?.[1];
      assert.ok(reverseUrl, serve.stdout());
      const result = await curl([`${reverseUrl}/rev?x=1`]);
      assert.equal(result.status, 200);
      assert.equal((JSON.parse(result.body) as EchoBody).url, '/rev?x=1');
    } finally {
      assert.equal(await serve.stop(), 0);
    }
  });

  it('refuses a non-loopback listen host without --allow-remote, and bad flags, with exit 2', async () => {
    const remote = await runCli(['serve', '--listen-host', '0.0.0.0', '--data-dir', data.dir]);
    assert.equal(remote.code, 2);
    assert.match(remote.stderr, /--allow-remote/);

    const badMap = await runCli(['serve', '--map', 'api.example.test', '--data-dir', data.dir]);
    assert.equal(badMap.code, 2);
    assert.match(badMap.stderr, /--map api\.example\.test: expected HOST=URL/);

    const badUrl = await runCli(['serve', '--map', 'a.test=ftp://x', '--data-dir', data.dir]);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /'ftp:\/\/x' is not an http/);
  });

  it('sizes the request log by --log-entries and --log-body-bytes', async () => {
    const serve = await serveOnFreePorts(data.dir, [
      ...['--map', `api.example.test=${upstream.url}`],
      ...['--log-entries', '3', '--log-body-bytes', '4'],
    ]);
    try {
      for (let i = 0; i < 5; i++) {
        const body = ['--data', 'hello world', `http://api.example.test/log-${i}`];
        const result = await curl(['-x', serve.proxyUrl, ...body]);
        assert.equal(result.status, 200, result.stderr);
      }

      const logs = await runCli(['logs', '--json', '--data-dir', data.dir]);
      assert.equal(logs.code, 0, logs.stderr);
      const entries = logs.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as RequestLogEntry)
        .sort((a, b) => a.seq - b.seq);
      assert.deepEqual(
        entries.map((e) => e.path),
        ['/log-2', '/log-3', '/log-4'],
      );
      for (const entry of entries) {
        assert.deepEqual(entry.requestBody, {
          encoding: 'utf8',
          text: 'hell',
          size: 4,
          truncated: true,
        });
      }
    } finally {
      assert.equal(await serve.stop(), 0);
    }

    const none = await runCli(['serve', '--log-entries', '0', '--data-dir', data.dir]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--log-entries 0: expected a whole number of at least 1/);
  });

  it('says which port is taken instead of crashing', async () => {
    const first = await serveOnFreePorts(data.dir);
    try {
      const port = new URL(first.proxyUrl).port;
      // Its own data dir, so only the port can be the conflict.
      const second = await runCli([
        'serve',
        '--proxy-port',
        port,
        '--control-port',
        '0',
        '--data-dir',
        `${data.dir}/second`,
      ]);
      assert.equal(second.code, 1);
      assert.match(
        second.stderr,
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`),
      );
    } finally {
      await first.stop();
    }
  });
});
