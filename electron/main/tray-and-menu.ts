import { Menu, Tray, app, nativeImage, type BrowserWindow } from 'electron';

/** The standard menus; the UI itself needs no custom menu items yet. */
export function installAppMenu(): void {
  const template: Electron.MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

/** A tray entry to bring the window back and to quit (which also stops the proxy). */
export function createTray(showWindow: () => BrowserWindow): Tray {
  const tray = new Tray(trayIcon());
  tray.setToolTip('Tollgate');
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: 'Show Tollgate', click: () => showWindow().show() },
      { type: 'separator' },
      { label: 'Quit Tollgate', click: () => app.quit() },
    ]),
  );
  return tray;
}

/** A plain 16×16 square drawn in memory, until resources/ has a designed icon. */
function trayIcon(): Electron.NativeImage {
  const size = 16;
  const pixels = Buffer.alloc(size * size * 4);
  for (let i = 0; i < size * size; i++) pixels.set([0x2b, 0x6c, 0xd4, 0xff], i * 4); // BGRA
  return nativeImage.createFromBitmap(pixels, { width: size, height: size });
}
