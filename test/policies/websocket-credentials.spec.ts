import assert from 'node:assert/strict';
import http from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { PolicyEngine } from '../../proxy-core/policies/engine.ts';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import { startWebSocketUpstream } from '../support/upstream.ts';
import { fixtureText, policyFrom } from './helpers.ts';

type WebSocketUpstream = Awaited<ReturnType<typeof startWebSocketUpstream>>;

/** A CONNECT tunnel to api.weather.test:80 through the proxy, as a browser opens for ws://. */
function tunnel(proxyUrl: string): Promise<Socket> {
  const proxy = new URL(proxyUrl);
  return new Promise((resolve, reject) => {
    const request = http.request({
      host: proxy.hostname,
      port: Number(proxy.port),
      method: 'CONNECT',
      path: 'api.weather.test:80',
    });
    request.on('connect', (res, socket) =>
      res.statusCode === 200 ? resolve(socket) : reject(new Error(`CONNECT ${res.statusCode}`)),
    );
    request.on('error', reject);
    request.end();
  });
}

/** Opens the WebSocket with `headers`; resolves with the first echo or the refusal status. */
async function open(proxyUrl: string, headers: Record<string, string>): Promise<string> {
  const socket = await tunnel(proxyUrl);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket('ws://api.weather.test/v1/forecast/live', {
      headers,
      createConnection: () => socket,
    });
    ws.on('open', () => ws.send('hello'));
    ws.on('message', (data) => {
      ws.close();
      resolve(String(data));
    });
    ws.on('unexpected-response', (_req, res) => {
      socket.destroy();
      resolve(`refused ${res.statusCode}`);
    });
    ws.on('error', reject);
  });
}

describe('WebSocket handshakes under the policy', { timeout: 60_000 }, () => {
  let upstream: WebSocketUpstream;
  let engine: PolicyEngine;
  let proxy: TestTollgate;

  before(async () => {
    upstream = await startWebSocketUpstream();
    const text = fixtureText('example.yaml').replace('http://127.0.0.1:5000', upstream.url);
    engine = new PolicyEngine({ policy: policyFrom(text) });
    proxy = await startTestTollgate({ hooks: engine });
  });
  after(async () => {
    await proxy?.stop();
    engine?.close();
    await upstream?.close();
  });

  it('refuses a handshake without a credential before the upstream sees it', async () => {
    assert.equal(await open(proxy.proxyUrl, {}), 'refused 401');
    assert.equal(upstream.handshakes.length, 0);
  });

  it('lets a keyed handshake through without forwarding the key', async () => {
    assert.equal(await open(proxy.proxyUrl, { 'x-api-key': 'pro-key-456' }), 'echo:hello');

    const seen = upstream.handshakes.at(-1)!;
    assert.equal(seen['x-api-key'], undefined, 'the credential stays at the proxy');
    assert.equal(seen['x-consumer'], 'acme-pro');
    assert.equal(seen['x-tier'], 'pro');
  });
});
