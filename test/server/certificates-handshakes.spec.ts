import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, nssHomeTrusting } from '../support/chromium.ts';
import { openssl, useTestCa } from '../support/test-ca.ts';

const run = promisify(execFile);

const fixture = useTestCa();

describe('TLS handshakes with the served certificates', () => {
  async function listen(server: net.Server, host: string): Promise<number> {
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return (server.address() as AddressInfo).port;
  }

  async function close(server: net.Server): Promise<void> {
    if (server instanceof https.Server) server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  function hello(): https.Server {
    return https.createServer({ SNICallback: fixture.ca.sniCallback }, (req, res) => {
      res.end(`hello ${req.headers.host}`);
    });
  }

  async function curl(...args: string[]): Promise<string> {
    const options = { timeout: 10_000 };
    return (await run('/usr/bin/curl', ['-sS', '--max-time', '8', ...args], options)).stdout;
  }

  it('serves an SNI leaf curl accepts with --cacert, chained to the CA', async () => {
    const server = hello();
    try {
      const port = await listen(server, '127.0.0.1');
      const url = `https://a.test:${port}/`;
      const resolve = `a.test:${port}:127.0.0.1`;
      assert.equal(
        await curl('--cacert', fixture.ca.certPath, '--resolve', resolve, url),
        `hello a.test:${port}`,
      );

      const sClient = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'a.test'];
      const shown = await openssl(...sClient, '-showcerts');
      const served = shown.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
      assert.equal(served?.length, 2);
      assert.equal(new X509Certificate(served[1]!).fingerprint256, fixture.ca.fingerprint256);
      assert.ok(new X509Certificate(served[0]!).checkHost('a.test'));
    } finally {
      await close(server);
    }
  });

  for (const [address, urlHost] of [
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '[::1]'],
  ] as const) {
    it(`serves the IP SAN leaf for ${urlHost} to curl, which sends no SNI`, async () => {
      // Clients send no SNI for IP literals; the proxy picks the context from the CONNECT host
      // and wraps the socket itself, as here.
      const secureContext = await fixture.ca.secureContextFor(address);
      const app = http.createServer((req, res) => res.end('by address'));
      const server = net.createServer((socket) => {
        app.emit('connection', new tls.TLSSocket(socket, { isServer: true, secureContext }));
      });
      try {
        const port = await listen(server, address);
        const url = `https://${urlHost}:${port}/`;
        assert.equal(await curl('--cacert', fixture.ca.certPath, url), 'by address');
      } finally {
        app.closeAllConnections();
        await close(server);
      }
    });
  }

  it('fails only a handshake with an invalid SNI name, then serves the next', async () => {
    const server = hello();
    try {
      const port = await listen(server, '127.0.0.1');
      const refused = tls.connect({
        host: '127.0.0.1',
        port,
        servername: 'bad..name',
        ca: fixture.ca.certPem,
      });
      await assert.rejects(
        new Promise((resolve, reject) =>
          refused.once('secureConnect', resolve).once('error', reject),
        ),
        /alert|disconnected|ECONNRESET/i,
      );
      refused.destroy();

      const resolve = `b.test:${port}:127.0.0.1`;
      const body = await curl(
        '--cacert',
        fixture.ca.certPath,
        '--resolve',
        resolve,
        `https://b.test:${port}/`,
      );
      assert.equal(body, `hello b.test:${port}`);
    } finally {
      await close(server);
    }
  });

  /**
   * Loads `https://NAME:PORT/` from `hello` in headless Chromium with its own HOME (so its NSS
   * trust store is a temp one) and `args`, and checks the page arrived without a TLS error.
   */
  async function assertChromiumLoads(name: string, home: string, args: string[] = []) {
    const server = hello();
    let browser: Browser | undefined;
    try {
      const port = await listen(server, '127.0.0.1');
      const hostRules = 'MAP *.test 127.0.0.1';
      browser = await launchChromium({ home, hostRules, args, timeout: 30_000 });
      const page = await browser.newPage();
      const response = await page.goto(`https://${name}:${port}/`, { timeout: 15_000 });
      assert.equal(response?.status(), 200);
      assert.equal(await page.innerText('body'), `hello ${name}:${port}`);
    } finally {
      await browser?.close();
      await close(server);
    }
  }

  it('is trusted by Chromium through an NSS db holding the CA', async () => {
    const home = path.join(fixture.dir, 'chromium-home');
    await nssHomeTrusting(home, fixture.ca.certPath);
    await assertChromiumLoads('browser.test', home);
  });

  it("lets Chromium pin the CA's SPKI, which works because the chain includes the CA", async () => {
    const spki = new X509Certificate(fixture.ca.certPem).publicKey.export({
      type: 'spki',
      format: 'der',
    });
    const pin = createHash('sha256').update(spki).digest('base64');
    await assertChromiumLoads('pinned.test', path.join(fixture.dir, 'untrusting-home'), [
      `--ignore-certificate-errors-spki-list=${pin}`,
    ]);
  });
});
