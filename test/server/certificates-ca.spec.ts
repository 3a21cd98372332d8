import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { chmod, copyFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CertificateAuthority } from '../../proxy-core/server/tls/certificate-authority.ts';
import { assertGoodSerial, fileMode, opensslText, useTestCa } from '../support/test-ca.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

const fixture = useTestCa();

describe('the local CA on disk', () => {
  it("keeps its key 0600 in 0700 folders, in http-mitm-proxy's layout", async () => {
    assert.equal(fixture.ca.dir, path.join(fixture.dataDir, 'ca'));
    assert.equal(fixture.ca.certPath, path.join(fixture.dataDir, 'ca', 'certs', 'ca.pem'));
    assert.equal(await readFile(fixture.ca.certPath, 'utf8'), fixture.ca.certPem);

    assert.equal(fileMode(await stat(fixture.ca.dir)), 0o700);
    assert.equal(fileMode(await stat(path.join(fixture.ca.dir, 'keys'))), 0o700);
    assert.equal(fileMode(await stat(path.join(fixture.ca.dir, 'keys', 'ca.private.key'))), 0o600);
    assert.equal(
      fileMode(await stat(path.join(fixture.ca.dir, 'keys', 'leaf.private.key'))),
      0o600,
    );
    assert.equal(fileMode(await stat(fixture.ca.certPath)), 0o644);

    const key = createPrivateKey(
      await readFile(path.join(fixture.ca.dir, 'keys', 'ca.private.key')),
    );
    const publicKey = createPublicKey(
      await readFile(path.join(fixture.ca.dir, 'keys', 'ca.public.key')),
    );
    assert.ok(new X509Certificate(fixture.ca.certPem).checkPrivateKey(key));
    assert.ok(new X509Certificate(fixture.ca.certPem).publicKey.equals(publicKey));
  });

  it('creates private files 0600 even when the umask allows more', async () => {
    const previous = process.umask(0);
    try {
      const other = await CertificateAuthority.loadOrCreate({
        dataDir: path.join(fixture.dir, 'um'),
      });
      assert.equal(fileMode(await stat(path.join(other.dir, 'keys', 'ca.private.key'))), 0o600);
      assert.equal(fileMode(await stat(path.join(other.dir, 'keys', 'leaf.private.key'))), 0o600);
      assert.equal(fileMode(await stat(other.dir)), 0o700);
    } finally {
      process.umask(previous);
    }
  });

  it('narrows a CA folder and key that were left readable by others', async () => {
    const loose = path.join(fixture.dir, 'loose');
    const first = await CertificateAuthority.loadOrCreate({ dataDir: loose });
    await chmod(first.dir, 0o755);
    await chmod(path.join(first.dir, 'keys', 'ca.private.key'), 0o644);

    const again = await CertificateAuthority.loadOrCreate({ dataDir: loose });
    assert.equal(again.fingerprint256, first.fingerprint256);
    assert.equal(fileMode(await stat(again.dir)), 0o700);
    assert.equal(fileMode(await stat(path.join(again.dir, 'keys', 'ca.private.key'))), 0o600);
  });

  it('issues a CA certificate with the CA profile and this install in its subject', async () => {
    const cert = new X509Certificate(fixture.ca.certPem);
    assert.equal(cert.ca, true);
    assert.match(fixture.ca.installId, /^[0-9a-f]{16}$/);
    assert.equal(cert.subject, `CN=Tollgate local CA ${fixture.ca.installId}\nO=Tollgate`);
    assert.equal(cert.issuer, cert.subject);
    assert.equal(fixture.ca.fingerprint256, cert.fingerprint256);

    const text = await opensslText(fixture.dir, fixture.ca.certPem);
    assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(text, /Key Usage: critical\s+Certificate Sign, CRL Sign\s/);
    assert.match(text, /Subject Key Identifier:\s+[0-9A-F:]{59}/);
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(text, /Public-Key: \(2048 bit\)/);

    const years = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365.25 * DAY_MS);
    assert.ok(years > 9.9 && years < 10.1, `CA validity ${years} years`);
    assertGoodSerial(cert.serialNumber);
  });

  it('loads the same CA and install id on the next start', async () => {
    const again = await CertificateAuthority.loadOrCreate({ dataDir: fixture.dataDir });
    assert.equal(again.fingerprint256, fixture.ca.fingerprint256);
    assert.equal(again.installId, fixture.ca.installId);
  });

  it('refuses a CA key that does not match its certificate, naming the file', async () => {
    const mixed = path.join(fixture.dir, 'mixed');
    const own = await CertificateAuthority.loadOrCreate({ dataDir: mixed });
    const foreignKey = path.join(fixture.ca.dir, 'keys', 'ca.private.key');
    await copyFile(foreignKey, path.join(own.dir, 'keys', 'ca.private.key'));

    await assert.rejects(CertificateAuthority.loadOrCreate({ dataDir: mixed }), (error: Error) => {
      assert.match(error.message, /not an RSA CA matching .*ca\.private\.key.*--regenerate/);
      return true;
    });
  });

  it('regenerates with a new serial and key, and drops leaves signed by the old CA', async () => {
    const store = path.join(fixture.dir, 'regen');
    const old = await CertificateAuthority.loadOrCreate({ dataDir: store });
    const oldLeaf = new X509Certificate(await old.certificatePemFor('a.test'));
    const oldLeafKey = await readFile(path.join(old.dir, 'keys', 'leaf.private.key'), 'utf8');
    // What http-mitm-proxy would have cached per host, signed by the old CA.
    await writeFile(path.join(old.dir, 'certs', 'a.test.pem'), oldLeaf.toString());
    await writeFile(path.join(old.dir, 'keys', 'a.test.key'), oldLeafKey);

    const fresh = await CertificateAuthority.regenerate({ dataDir: store });
    const [before, now] = [new X509Certificate(old.certPem), new X509Certificate(fresh.certPem)];
    assert.notEqual(now.serialNumber, before.serialNumber);
    assert.notEqual(fresh.fingerprint256, old.fingerprint256);
    assert.equal(fresh.installId, old.installId);
    assert.equal(await readFile(fresh.certPath, 'utf8'), fresh.certPem);
    assert.notEqual(
      await readFile(path.join(fresh.dir, 'keys', 'leaf.private.key'), 'utf8'),
      oldLeafKey,
    );
    assert.deepEqual((await readdir(path.join(fresh.dir, 'certs'))).sort(), ['ca.pem']);
    assert.ok(!(await readdir(path.join(fresh.dir, 'keys'))).includes('a.test.key'));

    const newLeaf = new X509Certificate(await fresh.certificatePemFor('a.test'));
    assert.equal(oldLeaf.verify(now.publicKey), false);
    assert.equal(newLeaf.verify(now.publicKey), true);
  });
});
