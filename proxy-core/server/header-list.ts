import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Headers as a flat `[name, value, …]` list: the form Node reads raw headers into and writes
 * them from. A header sent more than once appears once per value.
 */
export type HeaderList = readonly string[];

/** A header map as a list, one pair per value; numbers become strings, undefined is skipped. */
export function headerList(headers: IncomingHttpHeaders | OutgoingHttpHeaders): string[] {
  const list: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) list.push(name, String(item));
    else list.push(name, String(value));
  }
  return list;
}

/** The first value of `lowerName` (given in lower case), matched in any case. */
export function listValue(list: HeaderList, lowerName: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return list[i + 1];
  }
  return undefined;
}

/** A list whose names are distinct as a map, e.g. a verdict's header list for an answer. */
export function headerRecord(list: HeaderList): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) record[list[i]!] = list[i + 1]!;
  return record;
}
