/**
 * Where the control API is and which token opens it, for the three ways the UI is loaded:
 * - in the desktop app: the preload's `window.tollgate` (startup values from main);
 * - served by a headless `tollgate serve`: same origin, token from the `?token=` it printed;
 * - reloaded in that browser tab: the token kept in sessionStorage for this tab only.
 */

export interface ControlConnection {
  baseUrl: string;
  token: string | null;
}

const TOKEN_KEY = 'tollgate.controlToken';

export function resolveControlConnection(): ControlConnection {
  if (window.tollgate) {
    return { baseUrl: window.tollgate.controlUrl, token: window.tollgate.token };
  }

  const url = new URL(window.location.href);
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) {
    sessionStorage.setItem(TOKEN_KEY, fromQuery);
    // Keep the token out of the address bar, history and anything that copies the URL.
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.toString());
  }

  return { baseUrl: window.location.origin, token: fromQuery ?? sessionStorage.getItem(TOKEN_KEY) };
}
