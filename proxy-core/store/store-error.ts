/** Why a store could not be opened; the message is written for the user and names the fix. */
export type StoreErrorCode = 'DATA_DIR_BUSY' | 'SCHEMA_TOO_NEW' | 'STORE_UNREADABLE';

export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
  }
}
