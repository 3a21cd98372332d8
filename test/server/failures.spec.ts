import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../support/net.ts';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import {
  startHttpUpstream,
  startHttpsUpstream,
  type EchoBody,
  type TestUpstream,
  type TlsUpstream,
} from '../support/upstream.ts';
import { curl, parseResponse, problemOf, rawExchange, curlVia } from './clients.ts';

describe('proxy failures answer problem+json and keep serving', { timeout: 90_000 }, () => {
  let echo: TestUpstream;
  let special: TestUpstream;
  let tlsUpstream: TlsUpstream;
  let garbage: net.Server;
  let proxy: TestTollgate;
  const upstreamClosed: string[] = [];

  before(async () => {
    echo = await startHttpUpstream();
    special = await startHttpUpstream({
      handler: (req, res) => {
        req.socket.once('close', () => upstreamClosed.push(req.url ?? ''));
        if (req.url === '/reset') req.socket.destroy();
        else if (req.url === '/hang')
          return; // never answers
        else if (req.url === '/slow-body') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('first part\n');
        } else {
          res.writeHead(200, {
            connection: 'x-bar',
            'x-bar': 'hop',
            'keep-alive': 'timeout=5',
            'proxy-authenticate': 'Basic',
            'x-kept': 'yes',
          });
          res.end(JSON.stringify(req.headers));
        }
      },
    });
    tlsUpstream = await startHttpsUpstream();
    garbage = net.createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => socket.end('THIS IS NOT HTTP\r\n\r\n'));
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));

    proxy = await startTestTollgate({
      hostMap: { 'api.example.test': echo.url },
      timeouts: { headersMs: 600, upstreamMs: 800, idleTunnelMs: 800 },
    });
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([echo?.close(), special?.close(), tlsUpstream?.close()]);
    await new Promise((resolve) => garbage?.close(resolve));
  });

  const expectServed = async () => {
    const next = await curl(['-x', proxy.proxyUrl, 'http://api.example.test/next']);
    assert.equal(next.status, 200, 'the next good request is still served');
    assert.equal((JSON.parse(next.body) as EchoBody).url, '/next');
  };
  const proxyPort = () => proxy.tollgate.proxy.port;

  /** A raw keep-alive connection whose first request was answered; it stays open. */
  async function connectionAfterOneAnswer() {
    const socket = net.connect(proxyPort(), '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.write(`GET ${echo.url}/first HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    while (!text.includes('"bodySha256"')) await new Promise((resolve) => setTimeout(resolve, 20));
    return { socket, received: () => text };
  }

  it('400: an origin-form request without Host', async () => {
    const { text } = await rawExchange(proxyPort(), 'GET /no-host HTTP/1.0\r\n\r\n');
    const response = parseResponse(text);

    assert.equal(response.status, 400);
    assert.equal(problemOf(response).code, 'HOST_MISSING');
    await expectServed();
  });

  it('400: a request line that is not HTTP', async () => {
    const { text } = await rawExchange(proxyPort(), 'HELLO THERE\r\n\r\n');
    const response = parseResponse(text);

    assert.equal(response.status, 400);
    assert.equal(problemOf(response).code, 'BAD_REQUEST');
    await expectServed();
  });

  it('400: a CONNECT target that is not host:port', async () => {
    const { text } = await rawExchange(
      proxyPort(),
      'CONNECT ../../etc/passwd:443 HTTP/1.1\r\n\r\n',
    );
    const response = parseResponse(text);

    assert.equal(response.status, 400);
    assert.equal(problemOf(response).code, 'BAD_REQUEST');
    await expectServed();
  });

  it('431: oversized request headers', async () => {
    const big = 'x'.repeat(20_000);
    const { text } = await rawExchange(
      proxyPort(),
      `GET ${echo.url}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${big}\r\n\r\n`,
    );
    const response = parseResponse(text);

    assert.equal(response.status, 431);
    assert.equal(problemOf(response).code, 'HEADERS_TOO_LARGE');
    await expectServed();
  });

  it('408: request headers that trickle in too slowly are cut', async () => {
    const socket = net.connect(proxyPort(), '127.0.0.1');
    const started = Date.now();
    const received: Buffer[] = [];
    socket.on('data', (chunk) => received.push(chunk));
    socket.write(`GET ${echo.url}/slow HTTP/1.1\r\n`);
    const drip = setInterval(() => socket.write('X-Drip: 1\r\n'), 100);
    await new Promise((resolve) => socket.once('close', resolve));
    clearInterval(drip);

    const elapsed = Date.now() - started;
    assert.ok(elapsed < 3000, `cut after ${elapsed} ms, configured 600 ms`);
    const response = parseResponse(Buffer.concat(received).toString());
    assert.equal(response.status, 408);
    assert.equal(problemOf(response).code, 'HEADERS_TIMEOUT');
    await expectServed();
  });

  it('408: a keep-alive follow-up whose headers trickle in is cut too', async () => {
    const { socket, received } = await connectionAfterOneAnswer();

    const started = Date.now();
    socket.write(`GET ${echo.url}/second HTTP/1.1\r\n`);
    const drip = setInterval(() => socket.write('X-Drip: 1\r\n'), 100);
    await new Promise((resolve) => socket.once('close', resolve));
    clearInterval(drip);

    const elapsed = Date.now() - started;
    assert.ok(elapsed < 4000, `cut after ${elapsed} ms; configured idle 800 + headers 600 ms`);
    assert.match(received(), /HTTP\/1\.1 408 [^]*"code":"HEADERS_TIMEOUT"/);
    await expectServed();
  });

  it('a connection that never sends a request is closed quietly', async () => {
    const socket = net.connect(proxyPort(), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));

    const elapsed = Date.now() - started;
    assert.ok(elapsed < 3000, `closed after ${elapsed} ms, configured 600 ms`);
    assert.equal(received, '');
    await expectServed();
  });

  it('an idle keep-alive connection is closed without an answer nobody asked for', async () => {
    const { socket, received } = await connectionAfterOneAnswer();

    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 4000, `closed after ${elapsed} ms; configured idle 800 ms`);
    // A 408 here could be read by the client as the answer to its next request.
    assert.equal(received().match(/HTTP\/1\.1 /g)?.length, 1, received());
    await expectServed();
  });

  it('an idle CONNECT tunnel is closed', async () => {
    const { text, closedByServer, elapsedMs } = await rawExchange(
      proxyPort(),
      'CONNECT api.example.test:443 HTTP/1.1\r\nHost: api.example.test:443\r\n\r\n',
      { timeoutMs: 5000 },
    );
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.ok(closedByServer, 'the proxy closed the silent tunnel');
    assert.ok(elapsedMs < 4000, `closed after ${elapsedMs} ms, configured 800 ms`);
    await expectServed();
  });

  it('502: upstream refuses the connection', async () => {
    const closedPort = await freePort();
    const result = await curl(['-x', proxy.proxyUrl, `http://127.0.0.1:${closedPort}/x?secret=1`]);

    assert.equal(result.status, 502);
    const problem = problemOf(result);
    assert.equal(problem.code, 'UPSTREAM_UNREACHABLE');
    assert.doesNotMatch(result.body, /secret|at \w+ \(|node:|\/work\//, 'no query, stack or path');
    await expectServed();
  });

  it('502: upstream resets the connection', async () => {
    const result = await curl(['-x', proxy.proxyUrl, `${special.url}/reset`]);

    assert.equal(result.status, 502);
    assert.equal(problemOf(result).code, 'UPSTREAM_RESET');
    await expectServed();
  });

  it('502: upstream answers something that is not HTTP', async () => {
    const { port } = garbage.address() as AddressInfo;
    const result = await curl(['-x', proxy.proxyUrl, `http://127.0.0.1:${port}/`]);

    assert.equal(result.status, 502);
    assert.equal(problemOf(result).code, 'UPSTREAM_BAD_RESPONSE');
    await expectServed();
  });

  it('504: upstream does not answer in time', async () => {
    const result = await curl(['-x', proxy.proxyUrl, `${special.url}/hang`]);

    assert.equal(result.status, 504);
    assert.equal(problemOf(result).code, 'UPSTREAM_TIMEOUT');
    await expectServed();
  });

  it('hop-by-hop headers are stripped in both directions', async () => {
    const result = await curl([
      '-x',
      proxy.proxyUrl,
      '-H',
      'Connection: x-foo',
      '-H',
      'X-Foo: hop',
      '-H',
      'Keep-Alive: timeout=9',
      '-H',
      'TE: trailers',
      '-H',
      'Proxy-Authorization: Basic c2VjcmV0',
      '-H',
      'X-End: kept',
      `${special.url}/headers`,
    ]);

    assert.equal(result.status, 200);
    const seen = JSON.parse(result.body) as Record<string, string>;
    for (const name of ['x-foo', 'keep-alive', 'te', 'proxy-authorization']) {
      assert.equal(seen[name], undefined, `${name} reached the upstream`);
    }
    assert.equal(seen['x-end'], 'kept');
    for (const name of ['x-bar', 'proxy-authenticate']) {
      assert.equal(result.headers[name], undefined, `${name} reached the client`);
    }
    assert.equal(result.headers['x-kept'], 'yes');
  });

  it('upstream TLS that does not verify is refused (502), and accepted once allowlisted', async () => {
    const refused = await curlVia(proxy, [`${tlsUpstream.url}/tls`]);
    assert.equal(refused.status, 502);
    assert.equal(problemOf(refused).code, 'UPSTREAM_TLS_ERROR');
    await expectServed();

    const lenient = await startTestTollgate({ insecureUpstreamHosts: ['127.0.0.1'] });
    try {
      const accepted = await curlVia(lenient, [`${tlsUpstream.url}/tls`]);
      assert.equal(accepted.status, 200);
      assert.equal((JSON.parse(accepted.body) as EchoBody).url, '/tls');
    } finally {
      await lenient.stop();
    }
  });

  it('a client that goes away tears down its upstream request', async () => {
    const before = upstreamClosed.length;
    await new Promise<void>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: proxyPort(),
        path: `${special.url}/slow-body`,
        headers: { host: new URL(special.url).host },
      });
      req.on('response', (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      req.end();
    });

    const deadline = Date.now() + 3000;
    while (!upstreamClosed.slice(before).includes('/slow-body') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(upstreamClosed.slice(before).includes('/slow-body'), 'upstream socket closed');
    await expectServed();
  });
});
