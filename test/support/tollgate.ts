/**
 * A whole Tollgate started in-process on free ports with a temp data dir, the way
 * `tollgate serve` starts it, and stopped (ports, sockets, files) by `stop()`.
 */

import { readFile } from 'node:fs/promises';
import { startTollgate, type Tollgate, type TollgateOptions } from '../../proxy-core/app.ts';
import { freePort } from './net.ts';
import { tempDir } from './temp-dir.ts';

export interface TestTollgate {
  tollgate: Tollgate;
  dataDir: string;
  /** `http://127.0.0.1:PORT` of the forward proxy. */
  proxyUrl: string;
  /** The control port Tollgate was told about (refused as a proxy target). */
  controlPort: number;
  caPath: string;
  caPem: string;
  stop(): Promise<void>;
}

/**
 * Options are TollgateOptions minus the data dir; ports default to free ones. Pass `dataDir` to
 * reuse one (and its CA) across starts; it is then left in place.
 */
export async function startTestTollgate(
  options: Partial<TollgateOptions> = {},
): Promise<TestTollgate> {
  const temp = options.dataDir ? undefined : await tempDir('tollgate-proxy-');
  const dataDir = options.dataDir ?? temp!.dir;

  try {
    const controlPort = options.controlPort ?? (await freePort());
    const tollgate = await startTollgate({ proxyPort: 0, ...options, controlPort, dataDir });
    return {
      tollgate,
      dataDir,
      proxyUrl: tollgate.proxyUrl,
      controlPort,
      caPath: tollgate.ca.certPath,
      caPem: await readFile(tollgate.ca.certPath, 'utf8'),
      stop: async () => {
        await tollgate.close();
        await temp?.remove();
      },
    };
  } catch (error) {
    await temp?.remove();
    throw error;
  }
}
