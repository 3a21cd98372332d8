import { BrowserWindow } from 'electron';
import type { TollgateDesktopApi } from '../preload/api.d.ts';
import { startupArguments } from '../preload/startup-args.ts';

export interface MainWindowOptions {
  /** Where the UI lives: `app://tollgate/` when built, the dev server's URL under `dev`. */
  appUrl: string;
  preloadPath: string;
  /** Null when the control API did not come up; the UI then shows why it cannot connect. */
  startup: TollgateDesktopApi | null;
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const window = new BrowserWindow({
    width: 1200,
    height: 800,
    title: 'Tollgate',
    show: false,
    webPreferences: {
      preload: options.preloadPath,
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      additionalArguments: options.startup ? startupArguments(options.startup) : [],
    },
  });

  window.once('ready-to-show', () => window.show());
  void window.loadURL(options.appUrl);
  return window;
}
