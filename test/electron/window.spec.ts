import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { _electron } from 'playwright-core';
import { tempDir } from '../support/temp-dir.ts';
import { buildApp, electronBinary } from './build-app.ts';

interface PageFacts {
  origin: string;
  requireType: string;
  processType: string;
  apiKeys: string[];
  apiValueTypes: string[];
  apiFrozen: boolean;
  windowOpenResult: string;
}

// Read inside the page; a string so the Node-side tsconfig needs no DOM types.
const FACTS = `(() => ({
  origin: location.protocol + '//' + location.host,
  requireType: typeof require,
  processType: typeof process,
  apiKeys: Object.keys(window.tollgate ?? {}).sort(),
  apiValueTypes: Object.values(window.tollgate ?? {}).map((v) => typeof v),
  apiFrozen: Object.isFrozen(window.tollgate),
  windowOpenResult: String(window.open('http://127.0.0.1:9/')),
}))()`;

describe('desktop window', { timeout: 240_000 }, () => {
  it('opens a locked-down window showing the core status; quitting stops the core', async (t) => {
    const binary = electronBinary();
    if (!binary) {
      t.skip('Electron binary not installed (ELECTRON_SKIP_BINARY_DOWNLOAD)');
      return;
    }

    const built = await buildApp();
    const data = await tempDir();
    const app = await _electron.launch({
      executablePath: binary,
      args: ['--no-sandbox', built.dir],
      env: { ...process.env, TOLLGATE_DATA_DIR: data.dir } as Record<string, string>,
      timeout: 60_000,
    });
    try {
      const page = await app.firstWindow();
      await page.getByRole('heading', { name: 'Tollgate' }).waitFor({ timeout: 30_000 });
      await page.locator('dl[aria-label="status"]').waitFor({ timeout: 30_000 });

      const facts = await page.evaluate<PageFacts>(FACTS);
      assert.equal(facts.origin, 'app://tollgate');
      assert.equal(facts.requireType, 'undefined', 'no Node in the page');
      assert.equal(facts.processType, 'undefined', 'no Node in the page');
      assert.deepEqual(facts.apiKeys, ['appVersion', 'controlUrl', 'token']);
      assert.deepEqual(facts.apiValueTypes, ['string', 'string', 'string'], 'values, no functions');
      assert.equal(facts.apiFrozen, true);
      assert.equal(facts.windowOpenResult, 'null', 'window.open is denied');

      // Navigation away from the app origin is refused; the page stays where it is.
      await page.evaluate(`location.href = 'http://127.0.0.1:9/'`).catch(() => undefined);
      await page.waitForTimeout(300);
      assert.match(page.url(), /^app:\/\/tollgate\//);

      assert.ok(existsSync(path.join(data.dir, 'tollgate.lock')), 'the core holds the data dir');
      await app.close();
      assert.ok(!existsSync(path.join(data.dir, 'tollgate.lock')), 'quitting stopped the core');
      assert.ok(existsSync(path.join(data.dir, 'last-run.log')));
    } finally {
      await app.close().catch(() => undefined);
      await data.remove();
      await built.remove();
    }
  });
});
