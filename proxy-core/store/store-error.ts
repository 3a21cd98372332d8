/** Why a store could not be opened; the message is written for the user and names the fix. */
export type StoreErrorCode = 'DATA_DIR_BUSY' | 'SCHEMA_TOO_NEW' | 'STORE_UNREADABLE';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  /** DATA_DIR_BUSY: the process that owns the data dir, when its lock names one. */
  readonly ownerPid: number | undefined;

  constructor(code: StoreErrorCode, message: string, ownerPid?: number) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
    this.ownerPid = ownerPid;
  }
}
