import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import {
  chooseUpstream,
  parseUpstreamBase,
  resolveTarget,
} from '../../proxy-core/server/routing.ts';
import { endToEndRawHeaders } from '../../proxy-core/server/hop-by-hop.ts';
import { headerList } from '../../proxy-core/server/header-list.ts';
import { parseAbsoluteUrl, parseAuthority } from '../../proxy-core/server/target.ts';

describe('request targets', () => {
  const authorities: [string, ReturnType<typeof parseAuthority>][] = [
    ['api.example.test:443', { host: 'api.example.test', port: 443 }],
    ['API.Example.TEST:8443', { host: 'api.example.test', port: 8443 }],
    ['[::1]:8443', { host: '::1', port: 8443 }],
    ['[FE80::1%eth0]:1', { host: 'fe80::1%eth0', port: 1 }],
    ['127.0.0.1:80', { host: '127.0.0.1', port: 80 }],
    ['example.test', null],
    ['example.test:0', null],
    ['example.test:65536', null],
    ['example.test:8a', null],
    ['../../etc/passwd:443', null],
    ['ca:443/..', null],
    ['[::1:443', null],
    ['[not-v6]:443', null],
    ['a b:443', null],
    [':443', null],
  ];
  for (const [text, expected] of authorities) {
    it(`CONNECT authority ${JSON.stringify(text)} -> ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseAuthority(text), expected);
    });
  }

  const urls: [string, ReturnType<typeof parseAbsoluteUrl>][] = [
    ['http://a.test/x?y=1', { scheme: 'http', host: 'a.test', port: 80, path: '/x?y=1' }],
    ['HTTPS://A.test', { scheme: 'https', host: 'a.test', port: 443, path: '/' }],
    ['http://[::1]:5000/six', { scheme: 'http', host: '::1', port: 5000, path: '/six' }],
    ['http://a.test?q', { scheme: 'http', host: 'a.test', port: 80, path: '/?q' }],
    ['http://user:pw@a.test/', null],
    ['ftp://a.test/', null],
    ['http:///x', null],
    ['/relative', null],
  ];
  for (const [text, expected] of urls) {
    it(`absolute URI ${JSON.stringify(text)} -> ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseAbsoluteUrl(text), expected);
    });
  }

  it('routes a tunnelled request by the CONNECT target and refuses another Host (421)', () => {
    const arrival = {
      kind: 'tunnel',
      scheme: 'https',
      target: { host: 'a.test', port: 443 },
    } as const;
    const req = (url: string, host?: string) =>
      ({ url, headers: host === undefined ? {} : { host } }) as unknown as IncomingMessage;

    assert.deepEqual(resolveTarget(req('/x', 'A.test'), arrival), {
      scheme: 'https',
      host: 'a.test',
      port: 443,
      path: '/x',
    });
    assert.equal(resolveTarget(req('/x', 'b.test'), arrival), 'MISDIRECTED_REQUEST');
    assert.equal(resolveTarget(req('/x', 'a.test:8443'), arrival), 'MISDIRECTED_REQUEST');
    assert.equal(resolveTarget(req('https://b.test/x'), arrival), 'MISDIRECTED_REQUEST');
    assert.equal(resolveTarget(req('/x'), arrival), 'HOST_MISSING');
  });

  it('refuses loopback targets on Tollgate’s own ports, mapped or not', () => {
    const ownPorts = new Set([8877, 8878]);
    const target = { scheme: 'http', host: 'api.test', port: 80, path: '/' } as const;
    const hostMap = new Map([['api.test', parseUpstreamBase('http://127.0.0.1:8878')]]);

    assert.equal(chooseUpstream(target, { kind: 'forward' }, { hostMap, ownPorts }), 'PROXY_LOOP');
    assert.equal(
      chooseUpstream(
        { ...target, host: '::1', port: 8877 },
        { kind: 'forward' },
        { hostMap, ownPorts },
      ),
      'PROXY_LOOP',
    );
    assert.deepEqual(
      chooseUpstream(
        { ...target, port: 8877 },
        { kind: 'forward' },
        { hostMap: new Map(), ownPorts },
      ),
      {
        scheme: 'http',
        host: 'api.test',
        port: 8877,
        pathPrefix: '',
        path: '/',
      },
    );
  });

  it('drops hop-by-hop headers, those named by Connection, and Proxy-*', () => {
    const kept = endToEndRawHeaders(
      headerList({
        connection: 'close, X-Secret',
        'x-secret': 'hop',
        'keep-alive': 'timeout=1',
        te: 'trailers',
        trailer: 'x',
        'transfer-encoding': 'chunked',
        upgrade: 'h2c',
        'proxy-authorization': 'Basic x',
        'proxy-connection': 'keep-alive',
        host: 'a.test',
        accept: '*/*',
      }),
    );
    assert.deepEqual(kept, ['accept', '*/*']);
  });

  it("drops the same headers from raw lists in any case, and applies a verdict's edits", () => {
    const raw = [
      ...['Connection', 'close', 'connection', 'X-Secret', 'X-SECRET', 'hop'],
      ...['Keep-Alive', 'timeout=1', 'TE', 'trailers', 'Transfer-Encoding', 'chunked'],
      ...['Upgrade', 'h2c', 'Proxy-Authorization', 'Basic x', 'Host', 'a.test'],
      ...['Accept', '*/*', 'X-Api-Key', 'k', 'X-Tier', 'client', 'Set-Cookie', 'a=1'],
      ...['set-cookie', 'b=2'],
    ];
    const kept = endToEndRawHeaders(raw, {
      remove: ['x-api-key'],
      set: ['x-tier', 'gold', 'x-consumer', 'acme'],
    });
    // Names keep the client's case; repeated headers stay separate lines.
    assert.deepEqual(kept, [
      ...['Accept', '*/*', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2'],
      ...['x-tier', 'gold', 'x-consumer', 'acme'],
    ]);
  });
});
