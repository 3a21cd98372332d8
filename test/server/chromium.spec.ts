import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, nssHomeTrusting } from '../support/chromium.ts';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import { tempDir } from '../support/temp-dir.ts';
import { startHttpUpstream, type TestUpstream } from '../support/upstream.ts';

const PAGE = '<!doctype html><title>through tollgate</title><p id="msg">hello from upstream</p>';

describe('headless Chromium through the proxy', { timeout: 90_000 }, () => {
  let upstream: TestUpstream;
  let proxy: TestTollgate;
  let home: Awaited<ReturnType<typeof tempDir>>;
  let browser: Browser | undefined;

  before(async () => {
    upstream = await startHttpUpstream({
      handler: (req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      },
    });
    proxy = await startTestTollgate({ hostMap: { 'page.example.test': upstream.url } });

    home = await tempDir('tollgate-chromium-');
    await nssHomeTrusting(home.dir, proxy.caPath);
  });
  after(async () => {
    await browser?.close();
    await proxy?.stop();
    await upstream?.close();
    await home?.remove();
  });

  it('loads an HTTPS page through the proxy with no certificate error', async () => {
    browser = await launchChromium({ home: home.dir, proxy: proxy.proxyUrl });
    const page = await browser.newPage();

    const response = await page.goto('https://page.example.test/welcome', { timeout: 20_000 });

    assert.ok(response, 'navigation produced a response');
    assert.equal(response.status(), 200);
    assert.equal(await page.textContent('#msg'), 'hello from upstream');
    const security = await response.securityDetails();
    assert.equal(security?.subjectName, 'page.example.test');
  });
});
