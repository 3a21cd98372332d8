/**
 * Guarantees for every web contents the app creates: it cannot navigate away from the app's own
 * origin, cannot open new windows, cannot attach <webview>s, and every permission request
 * (camera, notifications, geolocation, …) is refused. The UI needs none of them.
 */

import { app, session } from 'electron';
import type { Logger } from '../../proxy-core/log/logger.ts';

/** `scheme://host[:port]`, also for custom schemes, whose WHATWG `origin` is just "null". */
export function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return null;
  }
}

export function lockDown(appOrigin: string, log: Logger): void {
  const allowed = (url: string) => originOf(url) === appOrigin;

  app.on('web-contents-created', (_event, contents) => {
    const refuseNavigation = (event: Electron.Event, url: string) => {
      if (allowed(url)) return;
      event.preventDefault();
      log.warn('navigation refused', { url });
    };
    contents.on('will-navigate', refuseNavigation);
    contents.on('will-redirect', refuseNavigation);
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      log.warn('window.open refused', { url });
      return { action: 'deny' };
    });
  });

  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback) => {
    log.warn('permission refused', { permission });
    callback(false);
  });
  session.defaultSession.setPermissionCheckHandler(() => false);
}
