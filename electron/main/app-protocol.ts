/**
 * The renderer's own origin, `app://tollgate`, served from the built renderer folder.
 *
 * Guarantees: only files inside the renderer folder are served (a `..` or encoded traversal gets
 * 404); the origin is stable and not `null` (as `file://` pages send), so the control API can allow
 * exactly this origin and nothing else that a hostile page could also claim.
 */

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { net, protocol } from 'electron';

export const APP_SCHEME = 'app';
export const APP_HOST = 'tollgate';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/** Must run before `app.whenReady()`: privileges can only be granted at startup. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: APP_SCHEME,
      privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true },
    },
  ]);
}

export function serveRenderer(rendererDir: string): void {
  const root = path.resolve(rendererDir);

  protocol.handle(APP_SCHEME, (request) => {
    const url = new URL(request.url);
    if (url.host !== APP_HOST) return notFound();

    let relative: string;
    try {
      relative = decodeURIComponent(url.pathname);
    } catch {
      return notFound();
    }
    const file = path.resolve(root, '.' + (relative === '/' ? '/index.html' : relative));
    if (file !== root && !file.startsWith(root + path.sep)) return notFound();

    return net.fetch(pathToFileURL(file).toString());
  });
}

function notFound(): Response {
  return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });
}
