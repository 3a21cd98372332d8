import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startControlApi, type ControlApi } from '../../proxy-core/control/server.ts';
import { Store } from '../../proxy-core/store/store.ts';
import { launchChromium } from '../support/chromium.ts';
import { tempDir } from '../support/temp-dir.ts';
import { buildApp } from './build-app.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
};

/** Serves the built renderer folder on 127.0.0.1, standing in for the app:// protocol. */
async function serveFolder(root: string): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    const file = path.join(root, pathname === '/' ? 'index.html' : path.normalize(pathname));
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** What the desktop preload would expose; Chromium has no preload, so the page gets it first. */
function desktopApi(controlUrl: string, token: string): string {
  const api = JSON.stringify({ controlUrl, token, appVersion: '0.0.0-test' });
  return `window.tollgate = Object.freeze(${api});`;
}

describe('renderer in Chromium against the real control API', { timeout: 240_000 }, () => {
  let built: Awaited<ReturnType<typeof buildApp>>;
  let site: Awaited<ReturnType<typeof serveFolder>>;
  let browser: Browser;

  before(async () => {
    built = await buildApp();
    site = await serveFolder(path.join(built.dir, 'renderer'));
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await site?.close();
    await built?.remove();
  });

  /**
   * Opens the built UI in a fresh page against a control API over its own data dir (`prepare`
   * seeds it first), as the desktop window would with `token` from the preload.
   */
  async function withUi(
    options: { prepare?: (dataDir: string) => Promise<void>; token?: string },
    check: (page: Page, api: ControlApi) => Promise<void>,
  ): Promise<void> {
    const data = await tempDir();
    let store: Store | null = null;
    let api: ControlApi | null = null;
    let page: Page | null = null;
    try {
      await options.prepare?.(data.dir);
      store = await Store.open({ dataDir: data.dir });
      api = await startControlApi({ port: 0, allowedOrigins: [site.origin], store });
      page = await browser.newPage();
      await page.addInitScript(desktopApi(api.url, options.token ?? api.token));
      await page.goto(site.origin + '/');
      await check(page, api);
    } finally {
      await page?.close();
      await api?.close();
      await store?.close();
      await data.remove();
    }
  }

  it('shows the status fetched with the bearer token from window.tollgate', async () => {
    await withUi({}, async (page, api) => {
      await page.getByRole('heading', { name: 'Tollgate' }).waitFor({ timeout: 15_000 });
      const status = page.locator('dl[aria-label="status"]');
      await status.waitFor({ timeout: 15_000 });
      assert.match(await status.innerText(), new RegExp(`Control port\\s+${api.port}`));
      assert.equal(await page.getByRole('alert').count(), 0, 'no problem shown');
    });
  });

  it('shows a recovered store problem loudly', async () => {
    const prepare = async (dataDir: string) => {
      const seed = await Store.open({ dataDir, backupIntervalMs: 0 });
      seed.update((d) => (d.settings.seeded = true));
      await seed.close();
      await writeFile(path.join(dataDir, 'tollgate.json'), '{"schemaVersion": 1, "pol');
    };
    await withUi({ prepare }, async (page) => {
      const alert = page.getByRole('alert');
      await alert.waitFor({ timeout: 15_000 });
      assert.match(await alert.innerText(), /Store: .*damaged.*restored the last good backup/);
    });
  });

  it('says why it cannot connect when the token is wrong', async () => {
    await withUi({ token: 'not-the-token' }, async (page) => {
      const alert = page.getByRole('alert');
      await alert.waitFor({ timeout: 15_000 });
      assert.match(await alert.innerText(), /control API answered 401/);
      assert.equal(await page.locator('dl[aria-label="status"]').count(), 0);
    });
  });
});
