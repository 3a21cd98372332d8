/** JSON Merge Patch (RFC 7396), refusing keys that could reach an object prototype. */

import { invalid } from './control-error.ts';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function applyMergePatch(target: unknown, patch: unknown, path = ''): unknown {
  if (!isObject(patch)) return patch;

  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (FORBIDDEN_KEYS.has(key)) {
      throw invalid('the patch uses a forbidden key', [
        { path: `${path}${key}`, message: `'${key}' is not allowed` },
      ]);
    }
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value, `${path}${key}.`);
  }
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
