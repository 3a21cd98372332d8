/**
 * What the desktop preload puts on `window.tollgate`: startup values only, read once from the
 * renderer's command line. Absent when the UI is served by a headless `tollgate serve`.
 */
export interface TollgateDesktopApi {
  /** Base URL of the control API, e.g. `http://127.0.0.1:8878`. */
  readonly controlUrl: string;
  /** This launch's bearer token for the control API. */
  readonly token: string;
  readonly appVersion: string;
}

declare global {
  interface Window {
    tollgate?: TollgateDesktopApi;
  }
}
