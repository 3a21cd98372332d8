/** Writing NGINX configuration text safely: quoting, map sources, problem bodies. */

import { problemBody } from '../util/problem.ts';

export function problemText(status: number, code: string, title: string): string {
  return `'${problemBody({ status, code, title }).replace(/'/g, "\\'")}'`;
}

/** A double-quoted NGINX string; `$` cannot be escaped there, so callers avoid it. */
export function quote(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

/** A map source is literal, but a leading `~` means regex and a few words are keywords. */
export function mapSource(text: string): string {
  const special = /^~/.test(text) || ['default', 'hostnames', 'include', 'volatile'].includes(text);
  return quote(special ? `\\${text}` : text);
}
