import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';
import { decide, engineWith, examplePolicy, FIXTURES, request, statusOf } from './helpers.ts';

/** Each broken file, and the error line `policy check` must print for it (path and line). */
const BROKEN: [file: string, expected: RegExp][] = [
  ['wrong-type.yaml', /:13: tiers\[0\]\.limits\[0\]\.requests: expected number, got string "five"/],
  ['unknown-tier.yaml', /:13: consumers\[0\]\.tier: unknown tier "gold" \(tiers: free\)/],
  ['negative-limit.yaml', /:13: tiers\[0\]\.limits\[0\]\.requests: expected more than 0/],
  ['duplicate-names.yaml', /:12: tiers\[1\]\.name: duplicate tier name "free"/],
  ['proto-key.yaml', /:12: tiers\[0\]\.__proto__: the key "__proto__" is not allowed/],
  ['constructor-key.json', /:6: tiers\[0\]\.constructor: the key "constructor" is not allowed/],
  ['invalid-yaml.yaml', /:12: \(document\): invalid YAML\/JSON: Flow sequence/],
  [
    'bad-period.yaml',
    /:16: tiers\[1\]\.limits\[1\]\.per: expected one of second\|minute\|hour\|day\|week\|month/,
  ],
  ['unknown-route.yaml', /:11: tiers\[0\]\.routes\[1\]: unknown route "delete"/],
  ['unknown-field.yaml', /:13: tiers\[0\]\.limits\[0\]\.requets: unknown field "requets"/],
  [
    'overlapping-hosts.yaml',
    /:8: apis\[1\]\.hosts\[0\]: host "\*\.weather\.test" overlaps "api\.weather\.test"/,
  ],
  [
    'bad-auth.yaml',
    /:6: apis\[0\]\.auth\[0\]\.type: unknown type; expected one of apiKey\|jwt\|mtls/,
  ],
  ['duplicate-yaml-key.yaml', /:12: \(document\): invalid YAML\/JSON: Map keys must be unique/],
  [
    'calendar-per-minute.yaml',
    /:13: tiers\[0\]\.limits\[0\]\.algorithm: the calendar algorithm counts per day, week or month only/,
  ],
  ['empty.yaml', /\(document\): the document is empty/],
];

describe('tollgate policy', () => {
  it('accepts the example policy and summarises it', async () => {
    const result = await runCli(['policy', 'check', FIXTURES + 'example.yaml']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /valid\. 1 API, 3 routes, 2 tiers, 4 limits, 2 consumers\./);
  });

  it('reports each broken file precisely, exits 1, and never prints a stack trace', async () => {
    // Run the CLI processes two at a time: the machine is shared.
    for (let i = 0; i < BROKEN.length; i += 2) {
      await Promise.all(
        BROKEN.slice(i, i + 2).map(async ([file, expected]) => {
          const result = await runCli(['policy', 'check', FIXTURES + file]);
          assert.equal(result.code, 1, `${file}: exit code`);
          assert.match(result.stderr, expected, `${file}: ${result.stderr}`);
          assert.doesNotMatch(result.stderr, /\n\s+at |Error:|node:internal/, `${file}: no stack`);
        }),
      );
    }
  });

  it('prints a JSON Schema that describes the document', async () => {
    const result = await runCli(['policy', 'schema']);
    assert.equal(result.code, 0);
    const schema = JSON.parse(result.stdout);
    assert.equal(schema.properties.version.const, 1);
    assert.deepEqual(schema.required, ['version']);
    assert.deepEqual(schema.properties.tiers.items.properties.limits.items.properties.per.enum, [
      'second',
      'minute',
      'hour',
      'day',
      'week',
      'month',
    ]);
  });
});

describe('tollgate token', () => {
  it('mints a JWT the engine accepts for the consumer and tier', async () => {
    const result = await runCli([
      'token',
      '--consumer',
      'acme-pro',
      '--ttl',
      '10m',
      '--policy',
      FIXTURES + 'example.yaml',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const token = result.stdout.trim();

    // The engine runs on real time here, as the CLI did.
    const { engine } = engineWith(examplePolicy(), { time: undefined });
    const verdict = await decide(
      engine,
      request({
        method: 'POST',
        path: '/v1/alerts',
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    assert.equal(statusOf(verdict), 200);
    assert.equal(verdict.annotations?.consumer, 'acme-pro');
    assert.equal(verdict.annotations?.tier, 'pro');
  });

  it('refuses an unknown consumer without --tier', async () => {
    const result = await runCli([
      'token',
      '--consumer',
      'nobody',
      '--policy',
      FIXTURES + 'example.yaml',
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /consumer 'nobody' is not in the policy/);
  });
});

describe('tollgate keys (no Tollgate running)', () => {
  it('creates a key shown once, lists it by prefix only, and revokes it', async () => {
    const { dir, remove } = await tempDir();
    try {
      const created = await runCli(['keys', 'create', '--consumer', 'acme', '--data-dir', dir]);
      assert.equal(created.code, 0, created.stderr);
      const key = created.stdout.trim();
      assert.match(key, /^tg_[A-Za-z0-9_-]{32}$/);
      const id = /Key (key_[0-9a-f]+)/.exec(created.stderr)![1]!;

      const listed = await runCli(['keys', 'list', '--json', '--data-dir', dir]);
      assert.equal(listed.code, 0);
      assert.ok(!listed.stdout.includes(key), 'the key itself is never listed');
      assert.equal(JSON.parse(listed.stdout)[0].consumer, 'acme');

      const revoked = await runCli(['keys', 'revoke', id, '--data-dir', dir]);
      assert.equal(revoked.code, 0, revoked.stderr);
      const after = JSON.parse(
        (await runCli(['keys', 'list', '--json', '--data-dir', dir])).stdout,
      );
      assert.ok(after[0].revokedAt);
    } finally {
      await remove();
    }
  });

  it('says clearly that clock commands need a running Tollgate', async () => {
    const { dir, remove } = await tempDir();
    try {
      const result = await runCli(['clock', 'advance', '1d', '--data-dir', dir]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /no running Tollgate found/);
    } finally {
      await remove();
    }
  });
});
