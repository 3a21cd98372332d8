import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { exportJWK, importPKCS8, SignJWT } from 'jose';
import { loadPolicyFile } from '../../proxy-core/policies/load.ts';
import { Store } from '../../proxy-core/store/store.ts';
import { tempDir } from '../support/temp-dir.ts';
import { decide, engineWith, examplePolicy, policyFrom, request, statusOf } from './helpers.ts';

const SECRET = new TextEncoder().encode('dev-secret-change-me');

function bearer(token: string) {
  return request({ headers: { authorization: `Bearer ${token}` } });
}

async function exampleToken(
  wallMs: number,
  claims: Record<string, unknown> = { sub: 'acme-pro', plan: 'pro' },
  { audience = 'weather', ttlSeconds = 600 } = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('tollgate')
    .setAudience(audience)
    .setIssuedAt(Math.floor(wallMs / 1000))
    .setExpirationTime(Math.floor(wallMs / 1000) + ttlSeconds)
    .sign(SECRET);
}

describe('identifying callers', () => {
  it('accepts a valid HS256 token and takes consumer and tier from its claims', async () => {
    const { engine, time } = engineWith(examplePolicy());
    const verdict = await decide(engine, bearer(await exampleToken(time.wall())));
    assert.equal(statusOf(verdict), 200);
    assert.equal(verdict.annotations?.consumer, 'acme-pro');
    assert.equal(verdict.annotations?.tier, 'pro');

    // The second use of the same token is answered from the verified-token cache, synchronously.
    const again = engine.decide(bearer(await exampleToken(time.wall())));
    assert.ok(!(again instanceof Promise) || statusOf(await again) === 200);
  });

  it('refuses an expired token, a wrong audience and a bad signature with 401 invalid_token', async () => {
    const { engine, time } = engineWith(examplePolicy());
    const cases = [
      {
        token: await exampleToken(time.wall() - 3600_000, undefined, { ttlSeconds: 60 }),
        why: /expired/,
      },
      {
        token: await exampleToken(time.wall(), undefined, { audience: 'maps' }),
        why: /unexpected aud claim value/,
      },
      { token: (await exampleToken(time.wall())).slice(0, -4) + 'AAAA', why: /signature/ },
    ];
    for (const { token, why } of cases) {
      const verdict = await decide(engine, bearer(token));
      assert.equal(statusOf(verdict), 401);
      assert.equal(verdict.kind, 'respond');
      if (verdict.kind !== 'respond') continue;
      assert.match(
        verdict.headers['www-authenticate']!,
        /Bearer realm="weather", error="invalid_token"/,
      );
      assert.match(verdict.headers['www-authenticate']!, why);
      assert.ok(!verdict.body.includes(token), 'the token is not echoed');
    }
  });

  it('expires a cached token when the virtual clock moves past its exp', async () => {
    const { engine, time } = engineWith(examplePolicy());
    const token = await exampleToken(time.wall(), undefined, { ttlSeconds: 60 });
    assert.equal(statusOf(await decide(engine, bearer(token))), 200);
    engine.clock.advance(2 * 3600_000);
    assert.equal(statusOf(await decide(engine, bearer(token))), 401);
  });

  it('verifies RS256 tokens against a local JWKS file', async () => {
    const { dir, remove } = await tempDir();
    try {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
      await writeFile(path.join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
      await writeFile(
        path.join(dir, 'policy.yaml'),
        `version: 1
apis:
  - name: weather
    hosts: [api.weather.test]
    auth: [{ type: jwt, jwksFile: jwks.json, issuer: idp, consumerClaim: client_id }]
    routes: [{ name: read, path: /v1/** }]
tiers: [{ name: free, routes: [read] }]
consumers: [{ name: app-1, tier: free }]
`,
      );
      const loaded = await loadPolicyFile(path.join(dir, 'policy.yaml'));
      assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
      const { engine, time } = engineWith(loaded.policy);

      const signer = await importPKCS8(
        privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        'RS256',
      );
      const token = await new SignJWT({ client_id: 'app-1' })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer('idp')
        .setExpirationTime(Math.floor(time.wall() / 1000) + 60)
        .sign(signer);
      const verdict = await decide(engine, bearer(token));
      assert.equal(statusOf(verdict), 200);
      assert.equal(verdict.annotations?.consumer, 'app-1');
    } finally {
      await remove();
    }
  });

  it('verifies ES256 tokens against an inline PEM public key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = (publicKey.export({ type: 'spki', format: 'pem' }) as string).trim();
    const policy = policyFrom(`
version: 1
apis:
  - name: weather
    hosts: [api.weather.test]
    auth:
      - type: jwt
        algorithms: [ES256]
        publicKey: |
${pem
  .split('\n')
  .map((line) => '          ' + line)
  .join('\n')}
    routes: [{ name: read, path: /v1/** }]
tiers: [{ name: free, routes: [read] }]
consumers: [{ name: app-2, tier: free }]
`);
    const { engine, time } = engineWith(policy);
    const token = await new SignJWT({ sub: 'app-2' })
      .setProtectedHeader({ alg: 'ES256' })
      .setExpirationTime(Math.floor(time.wall() / 1000) + 60)
      .sign(privateKey);
    assert.equal(
      statusOf(
        await decide(
          engine,
          request({ path: '/v1/a', headers: { authorization: `Bearer ${token}` } }),
        ),
      ),
      200,
    );

    const forged = await new SignJWT({ sub: 'app-2' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('guess'));
    assert.equal(
      statusOf(
        await decide(
          engine,
          request({ path: '/v1/a', headers: { authorization: `Bearer ${forged}` } }),
        ),
      ),
      401,
    );
  });

  it('identifies an mTLS client by certificate subject when the method says so', async () => {
    const policy = policyFrom(`
version: 1
apis:
  - name: internal
    hosts: [internal.test]
    auth: [{ type: mtls, match: subject }]
    routes: [{ name: all, path: /** }]
tiers: [{ name: partner, routes: [all] }]
consumers: [{ name: partner-b, tier: partner, certificates: ['CN=client-b,O=Acme'] }]
`);
    const { engine } = engineWith(policy);
    const verdict = await decide(
      engine,
      request({
        host: 'internal.test',
        path: '/x',
        clientCertificate: { fingerprint256: '00', subject: 'CN=client-b,O=Acme' },
      }),
    );
    assert.equal(statusOf(verdict), 200);
    assert.equal(verdict.annotations?.consumer, 'partner-b');
  });

  it('identifies an mTLS client by its certificate fingerprint', async () => {
    const fingerprint = 'AB:CD:'.repeat(15) + 'AB:CD';
    const policy = policyFrom(`
version: 1
apis:
  - name: internal
    hosts: [internal.test]
    auth: [{ type: mtls }]
    routes: [{ name: all, path: /** }]
tiers: [{ name: partner, routes: [all] }]
consumers: [{ name: partner-a, tier: partner, certificates: ['${fingerprint.toLowerCase()}'] }]
`);
    const { engine } = engineWith(policy);
    assert.equal(engine.wantsClientCertificate('internal.test'), true);
    assert.equal(engine.wantsClientCertificate('api.weather.test'), false);

    const known = await decide(
      engine,
      request({
        host: 'internal.test',
        path: '/x',
        clientCertificate: { fingerprint256: fingerprint, subject: 'CN=a' },
      }),
    );
    assert.equal(statusOf(known), 200);
    assert.equal(known.annotations?.consumer, 'partner-a');

    const stranger = await decide(
      engine,
      request({
        host: 'internal.test',
        path: '/x',
        clientCertificate: { fingerprint256: '00:11', subject: 'CN=b' },
      }),
    );
    assert.equal(statusOf(stranger), 401);
    assert.equal(
      statusOf(await decide(engine, request({ host: 'internal.test', path: '/x' }))),
      401,
    );
  });

  it('accepts a hashed key from the store and refuses it once revoked', async () => {
    const { dir, remove } = await tempDir();
    const store = await Store.open({ dataDir: dir });
    try {
      store.update((data) => {
        data.keys.push({
          id: 'k1',
          consumer: 'acme-free',
          sha256: createHash('sha256').update('tg_stored_key_1').digest('hex'),
          prefix: 'tg_stor',
          createdAt: new Date().toISOString(),
        });
      });
      const { engine } = engineWith(examplePolicy(), { store });
      const req = () => request({ headers: { 'x-api-key': 'tg_stored_key_1' } });
      assert.equal(statusOf(await decide(engine, req())), 200);

      store.update((data) => {
        data.keys[0]!.revokedAt = new Date().toISOString();
      });
      assert.equal(statusOf(await decide(engine, req())), 401);
      engine.close();
    } finally {
      await store.close();
      await remove();
    }
  });

  it("admits a request without credentials into the API's anonymous tier", async () => {
    const policy = examplePolicy();
    policy.apis[0]!.anonymousTier = 'free';
    const { engine } = engineWith(policy);

    const verdict = await decide(engine, request());
    assert.equal(statusOf(verdict), 200);
    assert.equal(verdict.annotations?.consumer, 'anonymous');
    assert.equal(verdict.annotations?.tier, 'free');
    assert.deepEqual(verdict.kind === 'forward' && verdict.setRequestHeaders, [
      ...['x-consumer', 'anonymous'],
      ...['x-tier', 'free'],
    ]);

    // A key still identifies its consumer; anonymous callers share the free tier's limits.
    const keyed = await decide(engine, request({ headers: { 'x-api-key': 'pro-key-456' } }));
    assert.equal(keyed.annotations?.consumer, 'acme-pro');
    for (let i = 0; i < 4; i++) assert.equal(statusOf(await decide(engine, request())), 200);
    assert.equal(statusOf(await decide(engine, request())), 429);
  });
});
