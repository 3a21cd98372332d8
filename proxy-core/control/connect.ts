import { createControlClient, type ControlClient } from './client.ts';
import { readControlEndpoint } from './endpoint-file.ts';

/** A client of the Tollgate running on `dataDir`, found through its control-token file. */
export async function connectToControlApi(dataDir: string): Promise<ControlClient> {
  const endpoint = await readControlEndpoint(dataDir);
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  return createControlClient({ baseUrl: `http://${host}:${endpoint.port}`, token: endpoint.token });
}
