import { createControlClient, type ControlClient } from './client.ts';
import { readControlEndpoint } from './endpoint-file.ts';

/**
 * A client of the Tollgate running on `dataDir`, found through its control-token file. Its
 * calls fail with a message meant for the user when that Tollgate has gone away.
 */
export async function connectToControlApi(dataDir: string): Promise<ControlClient> {
  const endpoint = await readControlEndpoint(dataDir);
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  const baseUrl = `http://${host}:${endpoint.port}`;

  const explainingFetch: typeof fetch = async (input, init) => {
    try {
      return await fetch(input, init);
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new Error(
        `the Tollgate at ${baseUrl} (pid ${endpoint.pid}) does not answer; ` +
          `it may have stopped without removing its control-token file`,
        { cause: error },
      );
    }
  };
  return createControlClient({ baseUrl, token: endpoint.token, fetch: explainingFetch });
}
