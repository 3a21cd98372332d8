/**
 * Where each field of a stored record lives in the record store's arrays: offsets within a
 * slot's stride of numbers (a Float64Array) and of shared strings (a plain array), the order of
 * its text fields, and the body flags. Shared by the store and the view that filters read.
 */

export const DECISIONS = ['allowed', 'refused', 'passthrough'] as const;

// Offsets of the numeric fields within a slot's stride of numbers.
export const SEQ = 0;
export const STARTED_AT = 1;
export const PORT = 2;
export const STATUS = 3;
export const REQUEST_BYTES = 4;
export const RESPONSE_BYTES = 5;
export const DNS = 6;
export const CONNECT = 7;
export const TLS = 8;
export const UPSTREAM = 9;
export const TOTAL = 10;
export const TEXT_AT = 11;
export const TEXT_BYTES = 12;
/** Four per side (request, then response): arena position, stored length, flags, size. */
export const BODY_AT = 13;
/**
 * Limit states after the request: how many, then four numbers each for the first few. A tier
 * has one to three limits as a rule; more than `INLINE_LIMITS` are kept as JSON text instead.
 */
export const LIMIT_COUNT = 21;
export const LIMIT_STATES = 22;
export const INLINE_LIMITS = 4;
/** Where the body arena stood when the record was saved: its bodies, and newer ones, follow. */
export const BODY_FLOOR = LIMIT_STATES + INLINE_LIMITS * 4;
export const NUMBER_FIELDS = BODY_FLOOR + 1;

// Offsets within a slot's stride of shared strings.
export const METHOD = 0;
export const CLIENT_ADDRESS = 1;
export const REASON = 2;
export const LIMIT = 3;
export const API = 4;
export const ROUTE = 5;
export const CONSUMER = 6;
export const TIER = 7;
export const CREDENTIAL_TAG = 8;
export const ERROR = 9;
/** Name and algorithm of each inline limit state. */
export const LIMIT_NAMES = 10;
export const SHARED_FIELDS = LIMIT_NAMES + INLINE_LIMITS * 2;

/**
 * The text of a record as one string: id, host, target, both header lines, and the limit states
 * as JSON when they are too many to keep inline. `#textLengths` splits it again.
 */
export const TEXT_FIELDS = 6;

// Body flags.
export const BODY_TEXT = 1;
export const BODY_BYTES = 2;
export const BODY_TRUNCATED = 4;

// Indices of the text fields that filters read (the order is in TEXT_FIELDS' comment).
export const TEXT_ID = 0;
export const TEXT_HOST = 1;
export const TEXT_TARGET = 2;
