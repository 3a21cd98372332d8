import { create } from 'zustand';
import type { StatusResponse } from '../../proxy-core/contract/control-api.ts';
import { resolveControlConnection } from './control-connection.ts';

interface StatusState {
  status: StatusResponse | null;
  error: string | null;
  loading: boolean;
  refresh(): Promise<void>;
}

// TODO(#4): call through the typed client in proxy-core/control/client.ts once it lands; this
// placeholder speaks to one route only.
export const useStatusStore = create<StatusState>((set) => ({
  status: null,
  error: null,
  loading: false,

  async refresh() {
    set({ loading: true });
    try {
      set({ status: await fetchStatus(), error: null, loading: false });
    } catch (error) {
      set({ error: (error as Error).message, loading: false });
    }
  },
}));

async function fetchStatus(): Promise<StatusResponse> {
  const { baseUrl, token } = resolveControlConnection();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;

  let response: Response;
  try {
    response = await fetch(new URL('/api/status', baseUrl), { headers });
  } catch {
    throw new Error(`cannot reach the control API at ${baseUrl}`);
  }

  if (!response.ok) {
    // Problem details (RFC 9457) carry a title; anything else gets the status line.
    const body = (await response.json().catch(() => null)) as { title?: string } | null;
    throw new Error(
      `control API answered ${response.status}: ${body?.title ?? response.statusText}`,
    );
  }
  return (await response.json()) as StatusResponse;
}
