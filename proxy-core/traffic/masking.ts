/**
 * Masks credentials in captured traffic before it is stored anywhere.
 *
 * Guarantees: values of credential headers (Authorization, Cookie, Set-Cookie, API-key headers
 * named by the policy and the usual ones), credential query parameters, and configured body
 * fields never reach the request log, and so never reach HAR files, the stream or the UI. A
 * credential value seen in the request is also scrubbed wherever else it shows up in the same
 * exchange (an upstream echoing headers back, a key in a path), as long as it is at least 8
 * characters (shorter values would mask innocent text). Headers Tollgate adds from its policy
 * (rate limits) are not searched: they hold no client data.
 */

import type { Policy } from '../policies/schema.ts';
import type { HeaderList } from '../server/header-list.ts';

export const MASK = '[masked]';

const DEFAULT_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'apikey',
  'x-auth-token',
  'x-access-token',
];

const DEFAULT_QUERY_PARAMS = ['api_key', 'apikey', 'api-key', 'key', 'token', 'access_token'];

const DEFAULT_BODY_FIELDS = [
  'password',
  'secret',
  'client_secret',
  'api_key',
  'apikey',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
];

/**
 * Separates names and values in `headerLines`. Node refuses a line break inside a header name or
 * value in both directions, so it cannot occur in one.
 */
export const HEADER_LINE_BREAK = '\n';

/** Shortest credential value scrubbed from the rest of the exchange. */
const MIN_SCRUB_LENGTH = 8;

export interface MaskingOptions {
  /** Extra header names whose values are masked (case-insensitive). */
  headers?: readonly string[];
  /** Extra query parameter names whose values are masked (case-sensitive, as URLs are). */
  queryParams?: readonly string[];
  /** Extra JSON or form field names masked in captured bodies. */
  bodyFields?: readonly string[];
}

/** Header and query names the policy reads credentials from. */
export function maskingFromPolicy(policy: Policy | null | undefined): MaskingOptions {
  const headers: string[] = [];
  const queryParams: string[] = [];
  for (const api of policy?.apis ?? []) {
    for (const auth of api.auth) {
      if (auth.type === 'apiKey') {
        if (auth.header) headers.push(auth.header);
        if (auth.query) queryParams.push(auth.query);
      } else if (auth.type === 'jwt') {
        headers.push(auth.header);
      }
    }
  }
  return { headers, queryParams };
}

/** What one exchange's masking found: credential values to scrub from everything else. */
export class SecretSet {
  readonly values: string[] = [];
  /** The first credential seen (a key or token, not a cookie): what identifies the caller. */
  credential: string | undefined;
  /** Length of the shortest value: shorter text cannot contain one (most header values). */
  #shortest = Infinity;

  addCredential(value: string): void {
    if (this.credential === undefined && value !== '') this.credential = value;
    this.add(value);
  }

  add(value: string): void {
    if (value.length < MIN_SCRUB_LENGTH || this.values.includes(value)) return;
    this.values.push(value);
    this.#shortest = Math.min(this.#shortest, value.length);
  }

  scrub(text: string): string {
    if (text.length < this.#shortest) return text;
    let result = text;
    for (const value of this.values) {
      if (result.includes(value)) result = result.split(value).join(MASK);
    }
    return result;
  }
}

export class Masker {
  readonly #headers: Set<string>;
  /** Lengths of the masked names: most header names are passed over without lower-casing. */
  readonly #headerLengths: Set<number>;
  readonly #queryParams: Set<string>;
  readonly #bodyPattern: RegExp;
  readonly #formPattern: RegExp;
  readonly #anyField: RegExp;

  constructor(options: MaskingOptions = {}) {
    this.#headers = new Set(
      [...DEFAULT_HEADERS, ...(options.headers ?? [])].map((h) => h.toLowerCase()),
    );
    this.#headerLengths = new Set([...this.#headers].map((name) => name.length));
    this.#queryParams = new Set([...DEFAULT_QUERY_PARAMS, ...(options.queryParams ?? [])]);

    const fields = [...DEFAULT_BODY_FIELDS, ...(options.bodyFields ?? [])].map(escapeRegExp);
    const names = fields.join('|');
    this.#bodyPattern = new RegExp(`("(?:${names})"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi');
    this.#formPattern = new RegExp(`(^|&)((?:${names})=)[^&]*`, 'gi');
    this.#anyField = new RegExp(names, 'i');
  }

  /**
   * A header list (`[name, value, …]`) masked and joined into one string of lines (see
   * `HEADER_LINE_BREAK`): a full log keeps one string per side instead of a map and its values.
   * With `scrubEchoes`, values holding a secret found earlier in the exchange are scrubbed too.
   * The last `trustedEntries` entries are joined as they are: headers Tollgate wrote from its
   * policy (rate limits), which no client secret can be in.
   */
  headerLines(
    list: HeaderList,
    secrets: SecretSet,
    scrubEchoes = false,
    trustedEntries = 0,
  ): string {
    const checkedEnd = list.length - trustedEntries;
    let masked: string[] | undefined;
    for (let i = 0; i < checkedEnd; i += 2) {
      const name = list[i]!;
      if (!this.#headerLengths.has(name.length)) continue;
      const lower = name.toLowerCase();
      if (!this.#headers.has(lower)) continue;
      masked ??= list.slice();
      masked[i + 1] = maskHeaderValue(lower, list[i + 1]!, secrets);
    }

    if (scrubEchoes && secrets.values.length > 0) {
      for (let i = 1; i < checkedEnd; i += 2) {
        const value = (masked ?? list)[i]!;
        const scrubbed = secrets.scrub(value);
        if (scrubbed === value) continue;
        masked ??= list.slice();
        masked[i] = scrubbed;
      }
    }
    return (masked ?? list).join(HEADER_LINE_BREAK);
  }

  /** Masks credential parameters of a query string (without the `?`). */
  query(query: string, secrets: SecretSet): string {
    if (query === '') return query;

    // A plain loop: this runs for every logged request, and most queries hold no credential.
    const pairs = query.split('&');
    let changed = false;
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i]!;
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const rawName = pair.slice(0, eq);
      const name = isEncoded(rawName) ? safeDecode(rawName) : rawName;
      if (!this.#queryParams.has(name)) continue;

      const value = pair.slice(eq + 1);
      const decoded = isEncoded(value) ? safeDecode(value) : value;
      secrets.add(value);
      secrets.addCredential(decoded);
      pairs[i] = `${rawName}=${MASK}`;
      changed = true;
    }
    return changed ? pairs.join('&') : query;
  }

  /** Masks configured fields in a JSON or form body, then scrubs the exchange's secrets. */
  body(text: string, secrets: SecretSet): string {
    // One pass to find out whether any field name occurs at all; most bodies have none.
    const masked = this.#anyField.test(text)
      ? text.replace(this.#bodyPattern, `$1"${MASK}"`).replace(this.#formPattern, `$1$2${MASK}`)
      : text;
    return secrets.scrub(masked);
  }
}

function maskHeaderValue(name: string, value: string, secrets: SecretSet): string {
  if (name === 'cookie' || name === 'set-cookie') {
    // Keep cookie names (useful when debugging sessions), drop every value; Set-Cookie
    // attributes after the first pair (Path, Expires…) are not secret.
    const pattern = name === 'cookie' ? /(^|;\s*)([^=;\s]+)=([^;]*)/g : /^()([^=;\s]+)=([^;]*)/;
    return value.replace(pattern, (_m, sep: string, key: string, v: string) => {
      secrets.add(v);
      return `${sep}${key}=${MASK}`;
    });
  }

  const scheme = /^(Bearer|Basic|Digest|Token|ApiKey)\s+(.+)$/i.exec(value);
  if (scheme) {
    secrets.addCredential(scheme[2]!);
    secrets.add(value);
    return `${scheme[1]} ${MASK}`;
  }
  secrets.addCredential(value);
  return MASK;
}

/** Two string searches: cheaper than a regular expression on this per-request path. */
function isEncoded(text: string): boolean {
  return text.includes('%') || text.includes('+');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
