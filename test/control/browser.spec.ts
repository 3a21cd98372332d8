import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startControlApi, type ControlApi } from '../../proxy-core/control/server.ts';
import { launchChromium } from '../support/chromium.ts';
import { ALLOWED, exchange } from '../traffic/exchange-records.ts';

/**
 * What a web page in a real browser can do to the control API. Chromium resolves `evil.test`
 * and `ui.test` to 127.0.0.1 (--host-resolver-rules), so a rebinding attack is the real thing:
 * the browser believes it talks to evil.test while the bytes reach our port.
 */
describe('control API against pages in Chromium', { timeout: 90_000 }, () => {
  let api: ControlApi;
  let site: http.Server;
  let sitePort: number;
  let browser: Browser;

  before(async () => {
    site = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>page</title>');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    sitePort = (site.address() as { port: number }).port;

    api = await startControlApi({ port: 0, allowedOrigins: [`http://ui.test:${sitePort}`] });
    browser = await launchChromium({ hostRules: 'MAP evil.test 127.0.0.1, MAP ui.test 127.0.0.1' });
  });

  after(async () => {
    await browser?.close();
    await api.close();
    await new Promise((resolve) => site.close(resolve));
  });

  async function pageAt(origin: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${origin}:${sitePort}/`);
    return page;
  }

  it('keeps a foreign page out even when it knows the token', async () => {
    const page = await pageAt('http://evil.test');
    try {
      const result = await page.evaluate(
        async ({ url, token }) => {
          const read = await fetch(`${url}/api/status`, {
            headers: { authorization: `Bearer ${token}` },
          }).then(
            (r) => `status ${r.status}`,
            () => 'blocked',
          );
          const stream = await new Promise<string>((resolve) => {
            const source = new EventSource(`${url}/api/stream?token=${token}`);
            source.onopen = () => resolve('open');
            source.onerror = () => {
              source.close();
              resolve('error');
            };
          });
          return { read, stream };
        },
        { url: api.url, token: api.token },
      );
      assert.equal(result.read, 'blocked', 'the preflight from a foreign origin is refused');
      assert.equal(result.stream, 'error', 'the event stream never opens');
    } finally {
      await page.close();
    }
  });

  it('refuses a DNS-rebound name with 403', async () => {
    const page = await browser.newPage();
    try {
      const response = await page.goto(`http://evil.test:${api.port}/api/status`);
      assert.equal(response?.status(), 403);
      assert.match(await page.content(), /HOST_REFUSED/);
    } finally {
      await page.close();
    }
  });

  it('serves the allow-listed UI origin, including the event stream with ?token=', async () => {
    const page = await pageAt('http://ui.test');
    try {
      const opened = page.evaluate(
        ({ url, token }) =>
          new Promise<{ status: string; entryPath: string }>((resolve, reject) => {
            fetch(`${url}/api/status`, { headers: { authorization: `Bearer ${token}` } })
              .then((r) => r.json() as Promise<{ name: string }>)
              .then((status) => {
                const source = new EventSource(`${url}/api/stream?token=${token}`);
                source.addEventListener('entry', (event) => {
                  source.close();
                  resolve({
                    status: status.name,
                    entryPath: JSON.parse((event as unknown as { data: string }).data).path,
                  });
                });
                source.onopen = () => ((globalThis as { streamOpen?: boolean }).streamOpen = true);
                source.onerror = () => reject(new Error('stream failed'));
              }, reject);
          }),
        { url: api.url, token: api.token },
      );
      await page.waitForFunction(() => (globalThis as { streamOpen?: boolean }).streamOpen, null, {
        timeout: 10_000,
      });
      api.requestLog.completed(exchange({ annotations: ALLOWED, request: { path: '/from-ui' } }));

      assert.deepEqual(await opened, { status: 'tollgate', entryPath: '/from-ui' });
    } finally {
      await page.close();
    }
  });
});
