import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { createControlClient, ControlApiError } from '../../proxy-core/control/client.ts';
import { startControlApi, type ControlApi } from '../../proxy-core/control/server.ts';
import { PolicyEngine } from '../../proxy-core/policies/engine.ts';
import { ManualTime } from '../../proxy-core/policies/clock.ts';
import { Store } from '../../proxy-core/store/store.ts';
import { tempDir } from '../support/temp-dir.ts';
import { fixtureText, policyFrom, statusOf, withKey } from '../policies/helpers.ts';

const forecast = (key: string) => withKey(key, { path: '/v1/forecast/paris' });
const alert = (key: string) => withKey(key, { method: 'POST', path: '/v1/alerts' });

async function statusFor(engine: PolicyEngine, request: ReturnType<typeof withKey>) {
  return statusOf(await engine.decide(request));
}

async function problemOf(promise: Promise<unknown>): Promise<ControlApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ControlApiError) return error;
    throw error;
  }
  assert.fail('expected the control API to refuse');
}

describe('policy, consumers, keys and clock through the control API', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: Store;
  let engine: PolicyEngine;
  let api: ControlApi;
  let client: ReturnType<typeof createControlClient>;
  const exampleText = fixtureText('example.yaml');

  before(async () => {
    dir = await tempDir();
    store = await Store.open({ dataDir: dir.dir, flushIntervalMs: 50 });
    engine = new PolicyEngine({ policy: policyFrom(exampleText), store, time: new ManualTime() });
    api = await startControlApi({ port: 0, engine, store });
    api.policy.record(parseYaml(exampleText), 'start');
    client = createControlClient({ baseUrl: api.url, token: api.token });
  });
  after(async () => {
    await api.close();
    engine.close();
    await store.close();
    await dir.remove();
  });

  it('refuses an invalid policy with 400 and its errors; the old policy stays in force', async () => {
    const before = await client.policy.get();
    const broken = exampleText.replace(
      '{ requests: 5, per: minute }',
      '{ requests: 5, per: fortnight }',
    );

    const refused = await problemOf(client.policy.replace({ text: broken }));
    assert.equal(refused.status, 400);
    assert.equal(refused.problem.code, 'POLICY_INVALID');
    const errors = refused.problem.errors as { path: string; message: string; line?: number }[];
    assert.equal(errors[0]?.path, 'tiers[0].limits[0].per');
    assert.equal(errors[0]?.line, 18);

    assert.deepEqual(await client.policy.get(), before, 'stored policy unchanged');
    // Still the old limit of 5 a minute: five pass, the sixth is refused.
    for (let i = 0; i < 5; i++)
      assert.equal(await statusFor(engine, forecast('free-key-123')), 200);
    assert.equal(await statusFor(engine, forecast('free-key-123')), 429);
    engine.resetUsage();
  });

  it('validates without applying', async () => {
    const bad = await client.policy.validate({ policy: { version: 1, tiers: [{ name: 'x y' }] } });
    assert.equal(bad.ok, false);
    assert.equal((await client.policy.validate({ text: exampleText })).ok, true);
    assert.equal((await client.policy.history()).revisions.length, 1);
  });

  it('replaces, patches and restores, keeping every change in the history', async () => {
    const stricter = exampleText.replace(
      '{ requests: 5, per: minute }',
      '{ requests: 2, per: minute }',
    );
    const replaced = await client.policy.replace({ text: stricter, source: 'cli' });
    assert.equal(replaced.revision, 2);
    assert.equal(await statusFor(engine, forecast('free-key-123')), 200);
    assert.equal(await statusFor(engine, forecast('free-key-123')), 200);
    assert.equal(await statusFor(engine, forecast('free-key-123')), 429, 'new limit enforced');

    const patched = await client.policy.patch({ timezone: 'Europe/Paris' });
    assert.equal(patched.revision, 3);
    assert.equal((patched.policy as { timezone: string }).timezone, 'Europe/Paris');

    const restored = await client.policy.restore(1);
    assert.equal(restored.revision, 4);
    engine.resetUsage();
    for (let i = 0; i < 5; i++)
      assert.equal(await statusFor(engine, forecast('free-key-123')), 200);

    const { revisions } = await client.policy.history();
    assert.deepEqual(
      revisions.map((r) => [r.id, r.source]),
      [
        [4, 'restore'],
        [3, 'api'],
        [2, 'cli'],
        [1, 'start'],
      ],
    );
    assert.match(revisions[2]!.summary, /changed tier free/);
    assert.match(revisions[1]!.summary, /timezone changed/);
    assert.match(revisions[0]!.summary, /restored revision 1/);
    assert.deepEqual((await client.policy.revision(1)).policy, parseYaml(exampleText));
    assert.equal((await problemOf(client.policy.restore(99))).status, 404);
    assert.equal(store.data.policyHistory.length, 4, 'the history lives in the store');
    engine.resetUsage();
  });

  it('adds no revision when the same document is recorded again (a restart, a saved file)', async () => {
    const before = await client.policy.get();
    const state = api.policy.record(before.policy, 'file');
    assert.equal(state.revision, before.revision);
    assert.equal((await client.policy.history()).revisions[0]!.id, before.revision);
  });

  it('lists apis and tiers, creates consumers and switches their tier', async () => {
    assert.deepEqual(
      (await client.apis()).apis[0]!.routes.map((r) => r.name),
      ['read', 'write', 'bulk'],
    );
    assert.deepEqual(
      (await client.tiers()).tiers.map((t) => t.name),
      ['free', 'pro'],
    );

    await client.consumers.create('newco', 'pro');
    assert.ok((await client.consumers.list()).consumers.some((c) => c.name === 'newco'));
    assert.equal((await problemOf(client.consumers.create('newco', 'pro'))).status, 409);
    assert.equal((await problemOf(client.consumers.create('other', 'platinum'))).status, 400);

    assert.equal(await statusFor(engine, alert('free-key-123')), 403, 'free may not write');
    await client.consumers.setTier('acme-free', 'pro');
    assert.equal(await statusFor(engine, alert('free-key-123')), 200, 'pro may');
    assert.equal((await problemOf(client.consumers.setTier('ghost', 'pro'))).status, 404);
    await client.consumers.setTier('acme-free', 'free');
  });

  it('creates keys shown once and stored hashed, and revokes them', async () => {
    const created = await client.keys.create('acme-pro');
    assert.match(created.key, /^tg_/);
    const stored = store.data.keys.find((k) => k.id === created.id)!;
    assert.equal(stored.sha256, createHash('sha256').update(created.key).digest('hex'));
    assert.ok(!JSON.stringify(store.data).includes(created.key), 'the key itself is not stored');
    assert.ok(!JSON.stringify(await client.keys.list()).includes(created.key));

    assert.equal(await statusFor(engine, forecast(created.key)), 200, 'the new key works');
    const revoked = await client.keys.revoke(created.id);
    assert.ok(revoked.revokedAt);
    assert.equal(await statusFor(engine, forecast(created.key)), 401, 'a revoked key does not');
    assert.equal((await problemOf(client.keys.create('ghost'))).status, 404);
  });

  it('reports and resets usage', async () => {
    await statusFor(engine, forecast('free-key-123'));
    const usage = (await client.usage.get()).usage as { consumer: string; used: number }[];
    assert.ok(usage.some((u) => u.consumer === 'acme-free' && u.used >= 1));

    await client.consumers.resetUsage('acme-free');
    const after = (await client.usage.get()).usage as { consumer: string }[];
    assert.ok(!after.some((u) => u.consumer === 'acme-free'));
  });

  it('moves the virtual clock and back', async () => {
    const advanced = await client.clock.advance(86_400_000);
    assert.equal(advanced.offsetMs, 86_400_000);
    assert.equal(engine.clock.offsetMs, 86_400_000);
    assert.equal((await client.clock.reset()).offsetMs, 0);
    assert.equal((await problemOf(client.clock.advance(-5))).status, 400);
  });

  it('exports the policy in force, and 404s an unknown format', async () => {
    const { formats } = await client.exports.formats();
    assert.ok(formats.includes('kong'));
    const kong = (await client.exports.get('kong')) as { files: unknown[] };
    assert.ok(Array.isArray(kong.files) && kong.files.length > 0);
    assert.equal((await problemOf(client.exports.get('bogus'))).status, 404);
  });

  it('leaves keys out of an export unless asked, then warns', async () => {
    const withoutKeys = JSON.stringify(await client.exports.get('tollgate'));
    assert.doesNotMatch(withoutKeys, /free-key-123/);

    const withKeys = (await client.exports.get('tollgate', { includeKeys: 'true' })) as {
      files: { content: string }[];
      warnings: { code: string }[];
    };
    assert.match(withKeys.files[0]!.content, /free-key-123/);
    assert.ok(withKeys.warnings.length > 0, 'exporting keys is warned about');

    const bad = await problemOf(client.exports.get('kong', { kongEdition: 'gold' as 'oss' }));
    assert.equal(bad.status, 400);
  });

  it('reports store health and the policy revision in status', async () => {
    const status = await client.status();
    assert.deepEqual(status.store, { ok: true });
    assert.equal(status.policy.loaded, true);
    assert.equal(status.policy.revision, (await client.policy.get()).revision);
    assert.equal(status.ca, null, 'no CA handed over here');
    assert.equal((await problemOf(client.ca())).status, 503);
  });
});
