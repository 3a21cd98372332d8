/**
 * The desktop app's main process. It only wires things together: the proxy core (the same
 * `startTollgate` as `tollgate serve`), one locked-down window, the tray and menu, and a
 * last-run.log. The UI talks to the core over the control API like any other client, so there
 * is no IPC to secure.
 */

import path from 'node:path';
import { app, dialog, type BrowserWindow } from 'electron';
import { startTollgate, type Tollgate } from '../../proxy-core/app.ts';
import { createLogger, type Logger } from '../../proxy-core/log/logger.ts';
import { defaultDataDir } from '../../proxy-core/util/data-dir.ts';
import type { TollgateDesktopApi } from '../preload/api.d.ts';
import { APP_ORIGIN, registerAppScheme, serveRenderer } from './app-protocol.ts';
import { LastRunLog } from './last-run-log.ts';
import { lockDown, originOf } from './lock-down.ts';
import { createMainWindow } from './main-window.ts';
import { createTray, installAppMenu } from './tray-and-menu.ts';

// Set by `electron-vite dev`; absent in a built app.
const devServerUrl = process.env.ELECTRON_RENDERER_URL;
const appUrl = devServerUrl ?? `${APP_ORIGIN}/`;

let core: Tollgate | null = null;
let mainWindow: BrowserWindow | null = null;
let lastRun: LastRunLog | null = null;

registerAppScheme();

// A second desktop app on the same data dir would be refused by the store lock anyway; focusing
// the running one is what the user meant.
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => showWindow());
  app.on('window-all-closed', () => app.quit());
  app.on('before-quit', stopCoreBeforeQuit);
  void app.whenReady().then(start, (error: unknown) => fail(error, null));
}

async function start(): Promise<void> {
  const dataDir = defaultDataDir();
  lastRun = new LastRunLog(path.join(dataDir, 'last-run.log'));
  const log = createLogger({ level: 'info', write: writeLine }, 'desktop');

  try {
    const uiOrigin = originOf(appUrl) ?? APP_ORIGIN;
    lockDown(uiOrigin, log);
    if (!devServerUrl) serveRenderer(path.join(import.meta.dirname, '../renderer'));
    installAppMenu();

    core = await startTollgate({ dataDir, log, allowedOrigins: [uiOrigin] });
    const startup = controlStartup(core);

    mainWindow = showWindow(startup);
    createTray(() => showWindow(startup));
    log.info('desktop ready', { dataDir, control: startup?.controlUrl });
  } catch (error) {
    await fail(error, log);
  }
}

function showWindow(startup: TollgateDesktopApi | null = null): BrowserWindow {
  if (mainWindow && !mainWindow.isDestroyed()) {
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
    return mainWindow;
  }

  mainWindow = createMainWindow({
    appUrl,
    preloadPath: path.join(import.meta.dirname, '../preload/index.cjs'),
    startup,
  });
  if (lastRun) lastRun.captureConsole(mainWindow.webContents);
  return mainWindow;
}

/** What the window needs to reach the control API; the core started it for this process. */
function controlStartup(tollgate: Tollgate): TollgateDesktopApi | null {
  if (!tollgate.control) return null;
  return {
    controlUrl: tollgate.control.url,
    token: tollgate.control.token,
    appVersion: app.getVersion(),
  };
}

/** Quitting waits for the core to stop (flushing the store, releasing the data dir). */
let stopping = false;
function stopCoreBeforeQuit(event: Electron.Event): void {
  if (!core) return void lastRun?.close();

  event.preventDefault();
  if (stopping) return;
  stopping = true;

  const running = core;
  running
    .close()
    .catch((error: unknown) =>
      writeLine(`level=error src=desktop msg="stop failed" error=${String(error)}`),
    )
    .finally(() => {
      core = null;
      app.quit();
    });
}

/** Shows why (e.g. the data dir is used by a running `tollgate serve`) and exits. */
async function fail(error: unknown, log: Logger | null): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  log?.error('desktop could not start', { error: message });
  await core?.close().catch(() => undefined);
  core = null;
  dialog.showErrorBox('Tollgate could not start', message);
  await lastRun?.close();
  app.exit(1);
}

function writeLine(line: string): void {
  process.stderr.write(line + '\n');
  lastRun?.write(line);
}
