import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { WebSocket } from 'ws';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import { startWebSocketUpstream, type TestUpstream } from '../support/upstream.ts';
import { curl, parseResponse, rawExchange } from './clients.ts';

/** Opens a CONNECT tunnel through the proxy, as a browser does for ws:// and wss://. */
function tunnel(proxyPort: number, authority: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const request = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      method: 'CONNECT',
      path: authority,
    });
    request.on('connect', (res, socket) =>
      res.statusCode === 200 ? resolve(socket) : reject(new Error(`CONNECT ${res.statusCode}`)),
    );
    request.on('error', reject);
    request.end();
  });
}

/** Sends `ping` over a WebSocket on `socket` and resolves with the reply. */
function echoOver(url: string, socket: Socket | tls.TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { createConnection: () => socket });
    const timer = setTimeout(() => reject(new Error('no reply within 8 s')), 8000);
    ws.on('open', () => ws.send('ping'));
    ws.on('message', (data) => {
      clearTimeout(timer);
      ws.close();
      resolve(String(data));
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function handshake(url: string, host: string): string {
  return [
    `GET ${url} HTTP/1.1`,
    `Host: ${host}`,
    'Connection: Upgrade',
    'Upgrade: websocket',
    'Sec-WebSocket-Version: 13',
    `Sec-WebSocket-Key: ${KEY}`,
    '',
    '',
  ].join('\r\n');
}

describe('WebSocket pass-through', { timeout: 60_000 }, () => {
  let wsUpstream: TestUpstream;
  let wssUpstream: TestUpstream;
  let refusing: TestUpstream;
  let proxy: TestTollgate;

  before(async () => {
    wsUpstream = await startWebSocketUpstream();
    wssUpstream = await startWebSocketUpstream({ tls: true });
    refusing = await startWebSocketUpstream({ refuseWith: 403 });
    proxy = await startTestTollgate({
      hostMap: {
        'ws.example.test': wsUpstream.url,
        'wss.example.test': wssUpstream.url,
        'refuse.example.test': refusing.url,
      },
      // The wss upstream's certificate comes from its own throwaway CA.
      insecureUpstreamHosts: ['127.0.0.1'],
    });
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([wsUpstream?.close(), wssUpstream?.close(), refusing?.close()]);
  });

  it('ws:// in absolute form: the upstream’s 101 and accept key reach the client', async () => {
    const { text } = await rawExchange(
      proxy.tollgate.proxy.port,
      handshake('http://ws.example.test/chat', 'ws.example.test'),
      { timeoutMs: 1500 },
    );
    const expected = createHash('sha1')
      .update(KEY + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
      .digest('base64');

    assert.equal(parseResponse(text).status, 101);
    assert.equal(parseResponse(text).headers['sec-websocket-accept'], expected);
  });

  it('ws:// through a CONNECT tunnel echoes messages', async () => {
    const socket = await tunnel(proxy.tollgate.proxy.port, 'ws.example.test:80');
    assert.equal(await echoOver('ws://ws.example.test/chat', socket), 'echo:ping');
  });

  it('wss:// through CONNECT, intercepted with the Tollgate CA, echoes messages', async () => {
    const raw = await tunnel(proxy.tollgate.proxy.port, 'wss.example.test:443');
    const secure = tls.connect({ socket: raw, servername: 'wss.example.test', ca: proxy.caPem });
    await new Promise((resolve, reject) =>
      secure.once('secureConnect', resolve).once('error', reject),
    );

    assert.equal(await echoOver('wss://wss.example.test/chat', secure), 'echo:ping');
  });

  it('an upstream refusal reaches the client as its status, never as 101', async () => {
    const { text } = await rawExchange(
      proxy.tollgate.proxy.port,
      handshake('http://refuse.example.test/chat', 'refuse.example.test'),
    );

    assert.doesNotMatch(text, /101 Switching/);
    assert.equal(parseResponse(text).status, 403);
    const next = await curl(['-x', proxy.proxyUrl, 'http://ws.example.test/plain']);
    assert.equal(next.status, 200, 'the next request is still served');
  });
});

describe('WebSocket shutdown', { timeout: 30_000 }, () => {
  it('closing the proxy ends upgraded connections instead of waiting for them', async () => {
    const upstream = await startWebSocketUpstream();
    const proxy = await startTestTollgate({ hostMap: { 'ws.example.test': upstream.url } });
    try {
      const socket = await new Promise<Socket>((resolve, reject) => {
        const request = http.request({
          host: '127.0.0.1',
          port: proxy.tollgate.proxy.port,
          path: 'http://ws.example.test/chat',
          headers: {
            host: 'ws.example.test',
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '13',
            'sec-websocket-key': KEY,
          },
        });
        request.on('upgrade', (_res, upgraded) => resolve(upgraded));
        request.on('error', reject);
        request.end();
      });
      const closed = new Promise((resolve) => socket.once('close', resolve));

      const started = Date.now();
      await proxy.stop();
      await closed;
      assert.ok(Date.now() - started < 3000, 'close did not wait for the open WebSocket');
    } finally {
      await upstream.close();
    }
  });
});
