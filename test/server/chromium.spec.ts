import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import { tempDir } from '../support/temp-dir.ts';
import { startHttpUpstream, type TestUpstream } from '../support/upstream.ts';

const run = promisify(execFile);

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

    // Chromium on Linux trusts what the user's NSS database trusts; this one lives in a temp HOME.
    home = await tempDir('tollgate-chromium-');
    const nssdb = `sql:${path.join(home.dir, '.pki', 'nssdb')}`;
    await mkdir(path.join(home.dir, '.pki', 'nssdb'), { recursive: true });
    await run('certutil', ['-d', nssdb, '-N', '--empty-password']);
    await run('certutil', ['-d', nssdb, '-A', '-t', 'C,,', '-n', 'tollgate', '-i', proxy.caPath]);
  });
  after(async () => {
    await browser?.close();
    await proxy?.stop();
    await upstream?.close();
    await home?.remove();
  });

  it('loads an HTTPS page through the proxy with no certificate error', async () => {
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      env: { ...process.env, HOME: home.dir },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        `--proxy-server=${proxy.proxyUrl}`,
      ],
    });
    const page = await browser.newPage();

    const response = await page.goto('https://page.example.test/welcome', { timeout: 20_000 });

    assert.ok(response, 'navigation produced a response');
    assert.equal(response.status(), 200);
    assert.equal(await page.textContent('#msg'), 'hello from upstream');
    const security = await response.securityDetails();
    assert.equal(security?.subjectName, 'page.example.test');
  });
});
