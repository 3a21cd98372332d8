import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CertificateAuthority } from '../../proxy-core/server/tls/certificate-authority.ts';
import { InvalidHostnameError } from '../../proxy-core/server/tls/hostname.ts';
import { randomSerialNumber } from '../../proxy-core/server/tls/serial-number.ts';
import { assertGoodSerial, fileMode, opensslText, useTestCa } from '../support/test-ca.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

const fixture = useTestCa();

/** Every file under `dir` with its mode and content hash, to prove nothing changed. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    const info = await stat(file);
    const content = entry.isFile() ? createHash('sha256').update(await readFile(file)) : null;
    files.set(path.relative(dir, file), `${fileMode(info)} ${content?.digest('hex') ?? 'dir'}`);
  }
  return files;
}

describe('serial numbers', () => {
  it('10,000 are positive, unique, minimally encoded and random in 126 bits', () => {
    const seen = new Set<string>();
    const ones = new Array<number>(128).fill(0);

    for (let i = 0; i < 10_000; i += 1) {
      const serial = randomSerialNumber();
      assert.ok(serial[0]! < 0x80, 'the DER INTEGER is positive without a sign byte');
      assert.notEqual(serial[0], 0, 'no leading zero byte, so the encoding is minimal');
      assertGoodSerial(serial.toString('hex'));
      seen.add(serial.toString('hex'));
      for (let bit = 0; bit < serial.length * 8; bit += 1) {
        if (serial[bit >> 3]! & (0x80 >> (bit & 7))) ones[bit]! += 1;
      }
    }

    assert.equal(seen.size, 10_000);
    // Bits 0 and 1 are fixed (sign and minimal encoding); every other bit must vary evenly.
    for (let bit = 2; bit < 128; bit += 1) {
      assert.ok(ones[bit]! > 4_500 && ones[bit]! < 5_500, `bit ${bit} set ${ones[bit]} times`);
    }
  });
});

describe('leaf certificates', () => {
  const cases = [
    { host: 'api.example.test', san: 'DNS:api.example.test', matches: 'checkHost' },
    { host: '127.0.0.1', san: 'IP Address:127.0.0.1', matches: 'checkIP' },
    { host: '::1', san: 'IP Address:0:0:0:0:0:0:0:1', matches: 'checkIP' },
    { host: '[::1]', san: 'IP Address:0:0:0:0:0:0:0:1', matches: 'checkIP' },
  ] as const;

  for (const { host, san, matches } of cases) {
    it(`certifies ${host} with ${san}, serverAuth, SHA-256 and at most 180 days`, async () => {
      const caCert = new X509Certificate(fixture.ca.certPem);
      const pem = await fixture.ca.certificatePemFor(host);
      const leaf = new X509Certificate(pem);

      assert.equal(leaf.subjectAltName, san);
      const bare = host.replace(/^\[|\]$/g, '');
      assert.equal(leaf[matches](bare), bare);
      assert.deepEqual(leaf.keyUsage, [SERVER_AUTH]);
      assert.equal(leaf.ca, false);
      assert.ok(leaf.verify(caCert.publicKey));
      assert.ok(leaf.checkIssued(caCert));
      assertGoodSerial(leaf.serialNumber);

      const notBefore = Date.parse(leaf.validFrom);
      const notAfter = Date.parse(leaf.validTo);
      assert.ok(notAfter - notBefore <= 180 * DAY_MS, 'lifetime incl. backdating <= 180 days');
      assert.ok(notBefore <= Date.now() && notAfter > Date.now() + 170 * DAY_MS);

      const text = await opensslText(fixture.dir, pem);
      const caText = await opensslText(fixture.dir, fixture.ca.certPem);
      assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
      assert.match(text, /Key Usage: critical\s+Digital Signature\s/);
      assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
      const caKeyId = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(caText)?.[1];
      assert.match(text, new RegExp(`Authority Key Identifier:\\s+(keyid:)?${caKeyId}\\s`));
    });
  }

  it('shares one leaf key across hosts, so no key is generated per host', async () => {
    const a = new X509Certificate(await fixture.ca.certificatePemFor('one.test'));
    const b = new X509Certificate(await fixture.ca.certificatePemFor('two.test'));
    assert.ok(a.publicKey.equals(b.publicKey));
    assert.equal(a.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.notEqual(a.serialNumber, b.serialNumber);
  });

  it('refuses non-DNS, non-IP names and never touches files for any name', async () => {
    const before = await snapshot(fixture.dir);
    const refused = ['../../../x', 'a/b', '..', '', 'x'.repeat(254), 'a\\b', '/etc/passwd'];
    refused.push('*.example.test', 'a b', 'ca/../../x', 'a\0b', 'fe80::1%eth0', 'a..b');

    for (const name of refused) {
      await assert.rejects(fixture.ca.secureContextFor(name), (error: Error) => {
        assert.ok(error instanceof InvalidHostnameError, `${JSON.stringify(name)} refused`);
        assert.ok(error.message.includes(JSON.stringify(name.slice(0, 80))), error.message);
        return true;
      });
    }
    // Names that look like store files are only names: certified, never written anywhere.
    for (const name of ['ca', 'ca.pem', 'ca.private.key']) {
      const leaf = new X509Certificate(await fixture.ca.certificatePemFor(name));
      assert.equal(leaf.subjectAltName, `DNS:${name}`);
    }

    assert.deepEqual(await snapshot(fixture.dir), before);
    assert.equal(await readFile(fixture.ca.certPath, 'utf8'), fixture.ca.certPem);
  });

  it('signs exactly one certificate for 50 simultaneous asks for a new host', async () => {
    const { leavesSigned, cacheHits } = fixture.ca.stats;
    const contexts = await Promise.all(
      Array.from({ length: 50 }, () => fixture.ca.secureContextFor('new.test')),
    );

    assert.equal(fixture.ca.stats.leavesSigned, leavesSigned + 1);
    assert.equal(fixture.ca.stats.cacheHits, cacheHits + 49);
    assert.ok(contexts.every((context) => context === contexts[0]));
  });

  it('keeps at most cacheSize contexts, dropping the least recently used', async () => {
    const small = await CertificateAuthority.loadOrCreate({
      dataDir: fixture.dataDir,
      cacheSize: 2,
    });
    for (const host of ['a.test', 'b.test', 'a.test', 'c.test']) await small.secureContextFor(host);
    assert.deepEqual(small.stats, { leavesSigned: 3, cacheHits: 1 });

    await small.secureContextFor('a.test'); // still cached: used more recently than b
    await small.secureContextFor('b.test'); // evicted by c, so signed again
    assert.deepEqual(small.stats, { leavesSigned: 4, cacheHits: 2 });
  });

  it('reports how long the first context for a new host takes', async (t) => {
    const timings: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const start = performance.now();
      await fixture.ca.secureContextFor(`timing-${i}.test`);
      timings.push(performance.now() - start);
    }
    timings.sort((a, b) => a - b);
    t.diagnostic(
      `first secureContextFor: median ${timings[10]!.toFixed(2)} ms, ` +
        `max ${timings[19]!.toFixed(2)} ms (target < 25 ms)`,
    );
    assert.equal(timings.length, 20);
  });
});
