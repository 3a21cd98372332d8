import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApp } from './build-app.ts';

describe('electron-vite build', { timeout: 240_000 }, () => {
  let built: Awaited<ReturnType<typeof buildApp>>;

  before(async () => {
    built = await buildApp();
  });

  after(async () => {
    await built?.remove();
  });

  it('emits the main process as an ES module that imports electron', async () => {
    const main = await readFile(path.join(built.dir, 'main', 'index.js'), 'utf8');
    assert.match(main, /^import .* from "electron";$/m);
    assert.match(main, /startTollgate/, 'main starts the proxy core');
  });

  it('emits the preload as one CommonJS file that requires nothing but electron', async () => {
    const preload = await readFile(path.join(built.dir, 'preload', 'index.cjs'), 'utf8');
    const required = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);

    // A sandboxed preload can load only electron's own modules: no imports, no other files.
    assert.deepEqual([...new Set(required)], ['electron']);
    assert.doesNotMatch(preload, /^\s*(import|export)\s/m);
    assert.match(preload, /exposeInMainWorld\("tollgate"/);
    const code = preload.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    assert.doesNotMatch(code, /ipcRenderer/, 'the preload never touches ipcRenderer');
  });

  it('emits the renderer page with its CSP and every asset it references', async () => {
    const html = await readFile(path.join(built.dir, 'renderer', 'index.html'), 'utf8');
    assert.match(html, /http-equiv="Content-Security-Policy"/);
    assert.match(html, /script-src 'self'/);

    const assets = [...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(
      assets.some((a) => a.endsWith('.js')),
      'a script asset',
    );
    for (const asset of assets) {
      assert.ok(existsSync(path.join(built.dir, 'renderer', asset)), `${asset} exists`);
    }

    const script = await readFile(
      path.join(
        built.dir,
        'renderer',
        assets.find((a) => a.endsWith('.js'))!,
      ),
      'utf8',
    );
    assert.match(script, /\/api\/status/, 'the shell fetches the status route');
  });
});
