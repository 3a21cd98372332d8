import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { PolicyEngine } from '../../proxy-core/policies/engine.ts';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import { tempDir } from '../support/temp-dir.ts';
import { startHttpUpstream, type EchoBody, type TestUpstream } from '../support/upstream.ts';
import { curlVia } from '../server/clients.ts';
import { policyFrom } from './helpers.ts';

const run = promisify(execFile);

describe('mutual TLS through the proxy', { timeout: 60_000 }, () => {
  let upstream: TestUpstream;
  let proxy: TestTollgate;
  let engine: PolicyEngine;
  let certs: Awaited<ReturnType<typeof tempDir>>;

  const makeCert = async (name: string) => {
    const key = path.join(certs.dir, `${name}.key`);
    const cert = path.join(certs.dir, `${name}.pem`);
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      `/CN=${name}/O=Acme`,
      '-keyout',
      key,
      '-out',
      cert,
    ]);
    return { key, cert, fingerprint: new X509Certificate(await readFile(cert)).fingerprint256 };
  };
  let partner: Awaited<ReturnType<typeof makeCert>>;
  let stranger: Awaited<ReturnType<typeof makeCert>>;

  before(async () => {
    certs = await tempDir('tollgate-mtls-');
    [partner, stranger] = await Promise.all([makeCert('partner-a'), makeCert('stranger')]);
    upstream = await startHttpUpstream();
    engine = new PolicyEngine({
      policy: policyFrom(`
version: 1
apis:
  - name: internal
    hosts: [internal.test]
    upstream: ${upstream.url}
    auth: [{ type: mtls }]
    routes: [{ name: all, path: /** }]
tiers: [{ name: partner, routes: [all], limits: [{ requests: 10, per: minute }] }]
consumers: [{ name: partner-a, tier: partner, certificates: ['${partner.fingerprint}'] }]
`),
    });
    proxy = await startTestTollgate({ hooks: engine });
  });

  after(async () => {
    engine?.close();
    await proxy?.stop();
    await upstream?.close();
    await certs?.remove();
  });

  const get = (cert?: { key: string; cert: string }) =>
    curlVia(proxy, [
      ...(cert ? ['--cert', cert.cert, '--key', cert.key] : []),
      'https://internal.test/orders',
    ]);

  it('identifies the consumer by certificate fingerprint', async () => {
    const result = await get(partner);
    assert.equal(result.status, 200, result.body || result.stderr);
    assert.equal((JSON.parse(result.body) as EchoBody).headers['x-consumer'], 'partner-a');
    assert.equal(result.headers['x-ratelimit-limit'], '10');
  });

  it('refuses an unknown certificate and no certificate with 401', async () => {
    assert.equal((await get(stranger)).status, 401);
    assert.equal((await get()).status, 401);
  });
});
