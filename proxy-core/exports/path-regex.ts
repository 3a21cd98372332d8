/**
 * Route path patterns as the regular expressions gateways take, and back. The forward
 * direction reuses the engine's own compiler, so a gateway matches exactly what Tollgate
 * matches; the reverse reads only that compiler's output (and plain literal paths).
 */

import { compilePathPattern } from '../policies/path-pattern.ts';

/** `^/v1/forecast/[^/]+/?$` for `/v1/forecast/*`, with `/` left unescaped for readability. */
export function patternRegex(pattern: string): string {
  return compilePathPattern(pattern).source.replace(/\\\//g, '/');
}

const SEGMENT_FORMS: [string, string][] = [
  ['(?:/.*)?', '/**'],
  ['(?:/[^/]+)*', '/**'],
  ['/[^/]+', '/*'],
];

/** The pattern a regex came from, or undefined when it is not one of ours. */
export function regexToPattern(regex: string): string | undefined {
  let rest = regex.replace(/^\^/, '').replace(/\\\//g, '/');
  if (rest.endsWith('/?$')) rest = rest.slice(0, -3);
  else if (rest.endsWith('$')) rest = rest.slice(0, -1);
  else return undefined;

  let pattern = '';
  while (rest.length > 0) {
    const form = SEGMENT_FORMS.find(([source]) => rest.startsWith(source));
    if (form) {
      pattern += form[1];
      rest = rest.slice(form[0].length);
      continue;
    }
    if (!rest.startsWith('/')) return undefined;

    let segment = '';
    let i = 1;
    for (; i < rest.length && rest[i] !== '/' && !rest.startsWith('(?:', i); i++) {
      const char = rest[i]!;
      if (char === '\\') {
        segment += rest[i + 1] ?? '';
        i++;
      } else if (/[.*+?^${}()|[\]]/.test(char)) {
        return undefined;
      } else {
        segment += char;
      }
    }
    pattern += '/' + segment;
    rest = rest.slice(i);
  }
  return pattern === '' ? '/' : pattern;
}
