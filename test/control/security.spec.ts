import assert from 'node:assert/strict';
import { stat, readFile } from 'node:fs/promises';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CONTROL_ROUTE_KEYS, STREAM_PATH } from '../../proxy-core/contract/control-api.ts';
import { startControlApi, type ControlApi } from '../../proxy-core/control/server.ts';
import { readControlEndpoint } from '../../proxy-core/control/endpoint-file.ts';
import { tempDir } from '../support/temp-dir.ts';
import { call, concretePath } from './http-call.ts';

const UI_ORIGIN = 'http://localhost:5173';
const EVERY_ROUTE = [...CONTROL_ROUTE_KEYS.map(concretePath), { method: 'GET', path: STREAM_PATH }];

describe('control API lock-down', () => {
  let api: ControlApi;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let auth: Record<string, string>;

  before(async () => {
    dir = await tempDir();
    api = await startControlApi({ port: 0, dataDir: dir.dir, allowedOrigins: [UI_ORIGIN] });
    auth = { authorization: `Bearer ${api.token}` };
  });
  after(async () => {
    await api.close();
    await dir.remove();
  });

  it('answers 401 on every route without the token, or with a wrong one', async () => {
    for (const { method, path } of EVERY_ROUTE) {
      const missing = await call(api.port, method, path);
      assert.equal(missing.status, 401, `${method} ${path} without token`);
      assert.equal(missing.headers['content-type'], 'application/problem+json');
      assert.match(String(missing.headers['www-authenticate']), /^Bearer/);

      const wrong = await call(api.port, method, path, { authorization: 'Bearer nope' });
      assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
    }
  });

  it('lets the token through on every route (whatever the route then answers)', async () => {
    for (const { method, path } of EVERY_ROUTE) {
      const result = await call(api.port, method, path, auth);
      assert.ok(![401, 403].includes(result.status), `${method} ${path}: ${result.status}`);
      assert.doesNotMatch(result.body, /\n\s+at |\.ts:\d+/, `${method} ${path} leaks a stack`);
    }
  });

  it('refuses a rebinding Host with 403 on every route, even with the token', async () => {
    for (const { method, path } of EVERY_ROUTE) {
      const result = await call(api.port, method, path, { ...auth, host: `evil.test:${api.port}` });
      assert.equal(result.status, 403, `${method} ${path}`);
      assert.equal(JSON.parse(result.body).code, 'HOST_REFUSED');
    }
  });

  it('accepts only the loopback names with the right port as Host', async () => {
    const status = async (host: string) =>
      (await call(api.port, 'GET', '/api/status', { ...auth, host })).status;
    assert.equal(await status(`127.0.0.1:${api.port}`), 200);
    assert.equal(await status(`localhost:${api.port}`), 200);
    assert.equal(await status(`LocalHost:${api.port}`), 200);
    assert.equal(await status(`[::1]:${api.port}`), 200);
    assert.equal(await status('127.0.0.1'), 403);
    assert.equal(await status(`127.0.0.1:${api.port + 1}`), 403);
    assert.equal(await status(`127.0.0.1.evil.test:${api.port}`), 403);
    assert.equal(await status(`0x7f000001:${api.port}`), 403);
  });

  it('refuses a foreign Origin and Sec-Fetch-Site cross-site/same-site with 403 everywhere', async () => {
    for (const { method, path } of EVERY_ROUTE) {
      const foreign = await call(api.port, method, path, { ...auth, origin: 'http://evil.test' });
      assert.equal(foreign.status, 403, `${method} ${path} from a foreign origin`);
      for (const site of ['cross-site', 'same-site']) {
        const result = await call(api.port, method, path, { ...auth, 'sec-fetch-site': site });
        assert.equal(result.status, 403, `${method} ${path} with Sec-Fetch-Site ${site}`);
      }
    }
    const nullOrigin = await call(api.port, 'GET', '/api/status', { ...auth, origin: 'null' });
    assert.equal(nullOrigin.status, 403, 'a sandboxed page sends Origin: null');
  });

  it('lets the allow-listed UI origin in, with CORS naming only that origin', async () => {
    const headers = { ...auth, origin: UI_ORIGIN, 'sec-fetch-site': 'same-site' };
    const result = await call(api.port, 'GET', '/api/status', headers);
    assert.equal(result.status, 200);
    assert.equal(result.headers['access-control-allow-origin'], UI_ORIGIN);

    const preflight = await call(api.port, 'OPTIONS', '/api/policy', {
      origin: UI_ORIGIN,
      'access-control-request-method': 'PUT',
    });
    assert.equal(preflight.status, 204);
    assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);

    const foreignPreflight = await call(api.port, 'OPTIONS', '/api/policy', {
      origin: 'http://evil.test',
    });
    assert.equal(foreignPreflight.status, 403);
    assert.equal(foreignPreflight.headers['access-control-allow-origin'], undefined);
  });

  it('refuses the event stream from a foreign Origin before any 200, even with ?token=', async () => {
    const path = `${STREAM_PATH}?token=${api.token}`;
    const foreign = await call(api.port, 'GET', path, { origin: 'http://evil.test' });
    assert.equal(foreign.status, 403);
    const crossSite = await call(api.port, 'GET', path, { 'sec-fetch-site': 'cross-site' });
    assert.equal(crossSite.status, 403);

    const own = await call(api.port, 'GET', path, { origin: `http://127.0.0.1:${api.port}` });
    assert.equal(own.status, 200, 'EventSource from our own origin with ?token= works');
  });

  it('accepts ?token= only on the stream, not on other routes', async () => {
    const result = await call(api.port, 'GET', `/api/status?token=${api.token}`);
    assert.equal(result.status, 401);
  });

  it('refuses a foreign-Origin WebSocket upgrade with 403 and never sends 101', async () => {
    const raw = await rawExchange(
      api.port,
      [
        `GET ${STREAM_PATH}?token=${api.token} HTTP/1.1`,
        `Host: 127.0.0.1:${api.port}`,
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Origin: http://evil.test',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        '',
        '',
      ].join('\r\n'),
    );
    assert.match(raw, /^HTTP\/1\.1 403 /);
    assert.doesNotMatch(raw, /HTTP\/1\.1 101/);

    const own = await rawExchange(
      api.port,
      [
        `GET ${STREAM_PATH} HTTP/1.1`,
        `Host: 127.0.0.1:${api.port}`,
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        '',
        '',
      ].join('\r\n'),
    );
    assert.doesNotMatch(own, /HTTP\/1\.1 101/, 'no WebSocket at all: the stream is SSE');
  });

  it('answers bad bodies with 400 and the errors, unknown routes 404, wrong methods 405', async () => {
    const json = { ...auth, 'content-type': 'application/json' };
    const badField = await call(api.port, 'POST', '/api/clock/advance', json, '{"ms":"soon"}');
    assert.equal(badField.status, 400);
    const problem = JSON.parse(badField.body);
    assert.equal(problem.code, 'VALIDATION_FAILED');
    assert.equal(problem.errors[0].path, 'body.ms');

    const notJson = await call(api.port, 'PUT', '/api/policy', json, '{"policy": ');
    assert.equal(notJson.status, 400);
    assert.equal(JSON.parse(notJson.body).errors[0].path, '(body)');

    const badQuery = await call(api.port, 'GET', '/api/log?status=teapot', auth);
    assert.equal(badQuery.status, 400);
    assert.equal(JSON.parse(badQuery.body).errors[0].path, 'query.status');

    assert.equal((await call(api.port, 'GET', '/api/nothing-here', auth)).status, 404);
    assert.equal((await call(api.port, 'DELETE', '/api/status', auth)).status, 405);

    // The server is still serving after all of that.
    assert.equal((await call(api.port, 'GET', '/api/status', auth)).status, 200);
  });

  it('writes the token with the port to a 0600 file in the data dir', async () => {
    assert.ok(api.endpointFile);
    const info = await stat(api.endpointFile);
    assert.equal(info.mode & 0o777, 0o600);

    const endpoint = await readControlEndpoint(dir.dir);
    assert.equal(endpoint.port, api.port);
    assert.equal(endpoint.token, api.token);
    assert.equal(endpoint.pid, process.pid);
    assert.ok(Buffer.from(api.token, 'base64url').length >= 16, 'at least 128 bits');
    assert.ok(!(await readFile(api.endpointFile, 'utf8')).includes('\n\n'));
  });
});

describe('control API lifecycle', () => {
  it('makes a new token at every launch and removes its token file at close', async () => {
    const dir = await tempDir();
    try {
      const first = await startControlApi({ port: 0, dataDir: dir.dir });
      const firstToken = first.token;
      await first.close();
      await assert.rejects(readControlEndpoint(dir.dir), /no running Tollgate found/);

      const second = await startControlApi({ port: 0, dataDir: dir.dir });
      assert.notEqual(second.token, firstToken);
      const old = await call(second.port, 'GET', '/api/status', {
        authorization: `Bearer ${firstToken}`,
      });
      assert.equal(old.status, 401);
      await second.close();
    } finally {
      await dir.remove();
    }
  });

  it('refuses to listen anywhere but loopback', async () => {
    await assert.rejects(startControlApi({ port: 0, host: '0.0.0.0' }), /loopback/);
  });
});

/** Writes a raw request and collects everything the server sends until it closes. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let received = '';
    socket.setEncoding('utf8');
    socket.setTimeout(3_000, () => socket.destroy());
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}
