/**
 * Route path patterns: literal segments, `*` for exactly one segment, `**` for any number of
 * segments (zero included). Compiled once per policy into a regular expression, so matching a
 * request is one `RegExp.test` on the path without its query.
 */

export function compilePathPattern(pattern: string): RegExp {
  const segments = pattern.split('/').slice(1);
  let source = '^';

  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    if (segment === '**') {
      // `/a/**` matches `/a` and `/a/b/c`; `/a/**/z` matches `/a/z` and `/a/b/z`.
      source += last ? '(?:/.*)?' : '(?:/[^/]+)*';
    } else if (segment === '*') {
      source += '/[^/]+';
    } else {
      source += '/' + escapeRegExp(segment);
    }
  }

  return new RegExp(source + '/?$');
}

/** A segment may be `*` or `**` or a literal; `a*b` is refused rather than guessed at. */
export function pathPatternProblem(pattern: string): string | undefined {
  for (const segment of pattern.split('/')) {
    if (segment.includes('*') && segment !== '*' && segment !== '**') {
      return `segment "${segment}" mixes "*" with other characters; use "*" or "**" as a whole segment`;
    }
  }
  return undefined;
}

/** The path part of a request target (`/a/b?x=1` gives `/a/b`). */
export function pathOnly(target: string): string {
  const query = target.indexOf('?');
  return query === -1 ? target : target.slice(0, query);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
