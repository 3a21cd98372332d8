/**
 * Which names Tollgate will issue a certificate for.
 *
 * Guarantees: a name that passes is a DNS name (LDH labels, plus `_` which real internal hosts
 * use) or an IPv4/IPv6 literal, in one canonical form, so it is safe as a cache key and as a
 * SAN. Nothing here, or anywhere in the TLS code, turns a hostname into a file path.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

export type CertificateHost =
  { kind: 'dns'; name: string } | { kind: 'ip'; name: string; bytes: Buffer };

/** A name we refuse to certify; `code` is stable for callers that map errors to answers. */
export class InvalidHostnameError extends Error {
  readonly code = 'HOSTNAME_INVALID';

  constructor(input: unknown) {
    const shown = typeof input === 'string' ? JSON.stringify(input.slice(0, 80)) : typeof input;
    super(`not a DNS name or IP address: ${shown}`);
    this.name = 'InvalidHostnameError';
  }
}

const MAX_NAME_LENGTH = 253;
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Parses a CONNECT host or SNI server name. Accepts `[::1]` brackets and a trailing dot,
 * lowercases, and turns international names into their punycode form.
 * @throws InvalidHostnameError for anything else (`../x`, `a/b`, empty, too long, wildcards).
 */
export function parseCertificateHost(input: string): CertificateHost {
  if (typeof input !== 'string') throw new InvalidHostnameError(input);

  const bare = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const version = bare.includes('%') ? 0 : isIP(bare);
  if (version === 4) return { kind: 'ip', name: bare, bytes: ipv4Bytes(bare) };
  if (version === 6) {
    const bytes = ipv6Bytes(bare);
    return { kind: 'ip', name: canonicalIpv6(bytes), bytes };
  }
  if (bare !== input) throw new InvalidHostnameError(input);

  // domainToASCII returns '' for names it cannot convert; ASCII input is only lowercased.
  const ascii = /^[\x21-\x7e]*$/.test(input) ? input.toLowerCase() : domainToASCII(input);
  const name = ascii.endsWith('.') ? ascii.slice(0, -1) : ascii;
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) throw new InvalidHostnameError(input);
  const labels = name.split('.');
  if (!labels.every((label) => LABEL.test(label))) throw new InvalidHostnameError(input);
  // An all-digit last label (`1.2.3`) is read as an IPv4 address by URL parsers, never a name.
  if (/^\d+$/.test(labels.at(-1)!)) throw new InvalidHostnameError(input);
  return { kind: 'dns', name };
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

/** isIP has already vouched for the syntax; this only expands `::` and an IPv4 tail. */
function ipv6Bytes(address: string): Buffer {
  let text = address;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail) {
    const v4 = ipv4Bytes(v4Tail[1]!);
    const groups = `${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
    text = text.slice(0, v4Tail.index) + groups;
  }

  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups];

  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}

/** RFC 5952 text form, so `0:0::1`, `::1` and `[::1]` share one cache entry. */
function canonicalIpv6(bytes: Buffer): string {
  return new URL(`http://[${bytes.toString('hex').replace(/(.{4})(?!$)/g, '$1:')}]`).hostname.slice(
    1,
    -1,
  );
}
