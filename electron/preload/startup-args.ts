import type { TollgateDesktopApi } from './api.d.ts';

/**
 * The renderer's startup values travel as `--tollgate-<name>=<value>` arguments
 * (`webPreferences.additionalArguments`), the one channel that needs no IPC at all.
 */
const PREFIX = '--tollgate-';

export function startupArguments(api: TollgateDesktopApi): string[] {
  return [
    `${PREFIX}control-url=${api.controlUrl}`,
    `${PREFIX}token=${api.token}`,
    `${PREFIX}app-version=${api.appVersion}`,
  ];
}

/** Reads them back in the preload; null when one is missing (a window not opened by main). */
export function parseStartupArguments(argv: readonly string[]): TollgateDesktopApi | null {
  const value = (name: string) =>
    argv.find((arg) => arg.startsWith(`${PREFIX}${name}=`))?.slice(PREFIX.length + name.length + 1);

  const controlUrl = value('control-url');
  const token = value('token');
  const appVersion = value('app-version');
  if (!controlUrl || !token || appVersion === undefined) return null;
  return { controlUrl, token, appVersion };
}
