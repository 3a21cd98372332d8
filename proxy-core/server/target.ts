/**
 * Where a request is going, read from what the client sent: a CONNECT authority
 * (`host:443`, `[::1]:8443`), an absolute-form URI (`http://[::1]:5000/x`), or an origin-form
 * path plus a Host header. Hostnames come back lower-case and without IPv6 brackets. Anything
 * that does not parse is `null`, and the caller answers 400: a hostname is only ever used to
 * route, never as a file path.
 */

export interface Authority {
  /** Lower-case, no brackets. */
  host: string;
  port: number;
}

export interface RequestTarget extends Authority {
  scheme: 'http' | 'https';
  /** Path and query, starting with `/`. */
  path: string;
}

const HOSTNAME = /^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$/;
const IPV6 = /^[0-9a-f:.]+(%[a-z0-9._-]+)?$/;

/** `host:port`, `[v6]:port`, or a bare host that then takes `defaultPort`. */
export function parseAuthority(text: string, defaultPort?: number): Authority | null {
  let host: string;
  let portText: string | undefined;

  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return null;
    host = text.slice(1, close).toLowerCase();
    const rest = text.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return null;
    portText = rest === '' ? undefined : rest.slice(1);
    if (!IPV6.test(host) || !host.includes(':')) return null;
  } else {
    const colon = text.lastIndexOf(':');
    host = (colon < 0 ? text : text.slice(0, colon)).toLowerCase();
    portText = colon < 0 ? undefined : text.slice(colon + 1);
    if (!HOSTNAME.test(host) || host.length > 253) return null;
  }

  const port = portText === undefined ? defaultPort : parsePort(portText);
  if (port === undefined) return null;
  return { host, port };
}

/** The target of a request seen by a forward proxy or inside a tunnel. */
export function parseRequestTarget(
  url: string,
  hostHeader: string | undefined,
  scheme: 'http' | 'https',
): RequestTarget | null {
  if (url.startsWith('/')) {
    if (!hostHeader) return null;
    const authority = parseAuthority(hostHeader, scheme === 'https' ? 443 : 80);
    return authority && { ...authority, scheme, path: url };
  }
  return parseAbsoluteUrl(url);
}

/** `http://host:port/path?query` (or https); other schemes are not proxied. */
export function parseAbsoluteUrl(url: string): RequestTarget | null {
  // Hand-rolled: this runs for every forward-proxied request, and a regex here cost ~2 µs.
  const head = url.slice(0, 8).toLowerCase();
  const scheme = head.startsWith('http://') ? 'http' : head === 'https://' ? 'https' : null;
  if (scheme === null) return null;

  const start = scheme === 'http' ? 7 : 8;
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23) break; // '/', '?', '#'
    end += 1;
  }
  const authorityText = url.slice(start, end);
  if (authorityText === '' || authorityText.includes('@')) return null;
  const authority = parseAuthority(authorityText, scheme === 'https' ? 443 : 80);
  if (!authority) return null;

  const rest = url.slice(end);
  const path = rest === '' ? '/' : rest.charCodeAt(0) === 0x2f ? rest : `/${rest}`;
  return { scheme, host: authority.host, port: authority.port, path };
}

/** `[::1]` for IPv6 literals, the name itself otherwise; for URLs and Host headers. */
export function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Host header value: the port is left out when it is the scheme's default. */
export function hostHeader(host: string, port: number, scheme: 'http' | 'https'): string {
  const isDefault = (scheme === 'http' && port === 80) || (scheme === 'https' && port === 443);
  return isDefault ? formatHost(host) : `${formatHost(host)}:${port}`;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.') || host === '0.0.0.0';
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}
