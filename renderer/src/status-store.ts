import { create } from 'zustand';
import type { StatusResponse } from '../../proxy-core/contract/control-api.ts';
import { ControlApiError, createControlClient } from '../../proxy-core/control/client.ts';
import { resolveControlConnection } from './control-connection.ts';

interface StatusState {
  status: StatusResponse | null;
  error: string | null;
  loading: boolean;
  refresh(): Promise<void>;
}

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
  if (!token) throw new Error('no control API token: open the address `tollgate serve` printed');

  try {
    return await createControlClient({ baseUrl, token }).status();
  } catch (error) {
    // A problem answer carries its status and title; anything else means no answer at all.
    if (error instanceof ControlApiError)
      throw new Error(`control API answered ${error.message}`, { cause: error });
    throw new Error(`cannot reach the control API at ${baseUrl}`, { cause: error });
  }
}
