/** One line saying what changed between two policy documents, for the policy history. */

const NAMED_SECTIONS = ['apis', 'tiers', 'consumers', 'rules', 'faults'] as const;

const SINGULAR: Record<(typeof NAMED_SECTIONS)[number], string> = {
  apis: 'api',
  tiers: 'tier',
  consumers: 'consumer',
  rules: 'rule',
  faults: 'fault',
};

export function summarizePolicyChange(previous: unknown, next: unknown): string {
  if (!isObject(next)) return 'policy cleared';
  if (!isObject(previous)) return `first policy: ${counts(next)}`;

  const changes: string[] = [];
  for (const section of NAMED_SECTIONS) {
    changes.push(...diffSection(SINGULAR[section], previous[section], next[section]));
  }

  const otherKeys = new Set([...Object.keys(previous), ...Object.keys(next)]);
  for (const key of otherKeys) {
    if ((NAMED_SECTIONS as readonly string[]).includes(key)) continue;
    if (JSON.stringify(previous[key]) !== JSON.stringify(next[key])) changes.push(`${key} changed`);
  }
  return changes.length === 0 ? 'no changes' : changes.join('; ');
}

function diffSection(noun: string, before: unknown, after: unknown): string[] {
  const old = byName(before);
  const now = byName(after);
  const added = [...now.keys()].filter((name) => !old.has(name));
  const removed = [...old.keys()].filter((name) => !now.has(name));
  const changed = [...now.keys()].filter(
    (name) => old.has(name) && JSON.stringify(old.get(name)) !== JSON.stringify(now.get(name)),
  );

  const lines: string[] = [];
  if (added.length) lines.push(`added ${noun} ${added.join(', ')}`);
  if (removed.length) lines.push(`removed ${noun} ${removed.join(', ')}`);
  if (changed.length) lines.push(`changed ${noun} ${changed.join(', ')}`);
  return lines;
}

function byName(section: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (!Array.isArray(section)) return map;
  section.forEach((item, index) => {
    const name = isObject(item) && typeof item.name === 'string' ? item.name : `#${index + 1}`;
    map.set(name, item);
  });
  return map;
}

function counts(doc: Record<string, unknown>): string {
  return NAMED_SECTIONS.slice(0, 3)
    .map((section) => {
      const items = doc[section];
      return `${Array.isArray(items) ? items.length : 0} ${section}`;
    })
    .join(', ');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
