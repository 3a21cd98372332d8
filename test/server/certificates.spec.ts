import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { CertificateAuthority } from '../../proxy-core/server/tls/certificate-authority.ts';
import { InvalidHostnameError } from '../../proxy-core/server/tls/hostname.ts';
import { randomSerialNumber } from '../../proxy-core/server/tls/serial-number.ts';
import { tempDir } from '../support/temp-dir.ts';

const run = promisify(execFile);
const DAY_MS = 24 * 60 * 60 * 1000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let dataDir: string;
let ca: CertificateAuthority;

before(async () => {
  tmp = await tempDir();
  dataDir = path.join(tmp.dir, 'data');
  ca = await CertificateAuthority.loadOrCreate({ dataDir });
});
after(() => tmp.remove());

/** Runs openssl with stdin closed (s_client would otherwise wait for input). */
async function openssl(...args: string[]): Promise<string> {
  const pending = run('openssl', args, { timeout: 10_000 });
  pending.child.stdin?.end();
  return (await pending).stdout;
}

async function opensslText(pem: string): Promise<string> {
  const file = path.join(tmp.dir, `cert-${Math.random().toString(16).slice(2)}.pem`);
  await writeFile(file, pem);
  return openssl('x509', '-in', file, '-noout', '-text');
}

function mode(stats: { mode: number }): number {
  return stats.mode & 0o777;
}

/** Every file under `dir` with its mode and content hash, to prove nothing changed. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    const info = await stat(file);
    const content = entry.isFile() ? createHash('sha256').update(await readFile(file)) : null;
    files.set(path.relative(dir, file), `${mode(info)} ${content?.digest('hex') ?? 'dir'}`);
  }
  return files;
}

describe('the local CA on disk', () => {
  it("keeps its key 0600 in 0700 folders, in http-mitm-proxy's layout", async () => {
    assert.equal(ca.dir, path.join(dataDir, 'ca'));
    assert.equal(ca.certPath, path.join(dataDir, 'ca', 'certs', 'ca.pem'));
    assert.equal(await readFile(ca.certPath, 'utf8'), ca.certPem);

    assert.equal(mode(await stat(ca.dir)), 0o700);
    assert.equal(mode(await stat(path.join(ca.dir, 'keys'))), 0o700);
    assert.equal(mode(await stat(path.join(ca.dir, 'keys', 'ca.private.key'))), 0o600);
    assert.equal(mode(await stat(path.join(ca.dir, 'keys', 'leaf.private.key'))), 0o600);
    assert.equal(mode(await stat(ca.certPath)), 0o644);

    const key = createPrivateKey(await readFile(path.join(ca.dir, 'keys', 'ca.private.key')));
    const publicKey = createPublicKey(await readFile(path.join(ca.dir, 'keys', 'ca.public.key')));
    assert.ok(new X509Certificate(ca.certPem).checkPrivateKey(key));
    assert.ok(new X509Certificate(ca.certPem).publicKey.equals(publicKey));
  });

  it('creates private files 0600 even when the umask allows more', async () => {
    const previous = process.umask(0);
    try {
      const other = await CertificateAuthority.loadOrCreate({ dataDir: path.join(tmp.dir, 'um') });
      assert.equal(mode(await stat(path.join(other.dir, 'keys', 'ca.private.key'))), 0o600);
      assert.equal(mode(await stat(path.join(other.dir, 'keys', 'leaf.private.key'))), 0o600);
      assert.equal(mode(await stat(other.dir)), 0o700);
    } finally {
      process.umask(previous);
    }
  });

  it('narrows a CA folder and key that were left readable by others', async () => {
    const loose = path.join(tmp.dir, 'loose');
    const first = await CertificateAuthority.loadOrCreate({ dataDir: loose });
    await chmod(first.dir, 0o755);
    await chmod(path.join(first.dir, 'keys', 'ca.private.key'), 0o644);

    const again = await CertificateAuthority.loadOrCreate({ dataDir: loose });
    assert.equal(again.fingerprint256, first.fingerprint256);
    assert.equal(mode(await stat(again.dir)), 0o700);
    assert.equal(mode(await stat(path.join(again.dir, 'keys', 'ca.private.key'))), 0o600);
  });

  it('issues a CA certificate with the CA profile and this install in its subject', async () => {
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.match(ca.installId, /^[0-9a-f]{16}$/);
    assert.equal(cert.subject, `CN=Tollgate local CA ${ca.installId}\nO=Tollgate`);
    assert.equal(cert.issuer, cert.subject);
    assert.equal(ca.fingerprint256, cert.fingerprint256);

    const text = await opensslText(ca.certPem);
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
    const again = await CertificateAuthority.loadOrCreate({ dataDir });
    assert.equal(again.fingerprint256, ca.fingerprint256);
    assert.equal(again.installId, ca.installId);
  });

  it('refuses a CA key that does not match its certificate, naming the file', async () => {
    const mixed = path.join(tmp.dir, 'mixed');
    const own = await CertificateAuthority.loadOrCreate({ dataDir: mixed });
    const foreignKey = path.join(ca.dir, 'keys', 'ca.private.key');
    await copyFile(foreignKey, path.join(own.dir, 'keys', 'ca.private.key'));

    await assert.rejects(CertificateAuthority.loadOrCreate({ dataDir: mixed }), (error: Error) => {
      assert.match(error.message, /not an RSA CA matching .*ca\.private\.key.*--regenerate/);
      return true;
    });
  });

  it('regenerates with a new serial and key, and drops leaves signed by the old CA', async () => {
    const store = path.join(tmp.dir, 'regen');
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

function assertGoodSerial(hex: string): void {
  const value = BigInt('0x' + hex);
  assert.ok(value > 0n, `serial ${hex} is positive`);
  assert.ok(value.toString(2).length >= 64, `serial ${hex} has at least 64 bits`);
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
      const caCert = new X509Certificate(ca.certPem);
      const pem = await ca.certificatePemFor(host);
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

      const text = await opensslText(pem);
      const caText = await opensslText(ca.certPem);
      assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
      assert.match(text, /Key Usage: critical\s+Digital Signature\s/);
      assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
      const caKeyId = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(caText)?.[1];
      assert.match(text, new RegExp(`Authority Key Identifier:\\s+(keyid:)?${caKeyId}\\s`));
    });
  }

  it('shares one leaf key across hosts, so no key is generated per host', async () => {
    const a = new X509Certificate(await ca.certificatePemFor('one.test'));
    const b = new X509Certificate(await ca.certificatePemFor('two.test'));
    assert.ok(a.publicKey.equals(b.publicKey));
    assert.equal(a.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.notEqual(a.serialNumber, b.serialNumber);
  });

  it('refuses non-DNS, non-IP names and never touches files for any name', async () => {
    const before = await snapshot(tmp.dir);
    const refused = ['../../../x', 'a/b', '..', '', 'x'.repeat(254), 'a\\b', '/etc/passwd'];
    refused.push('*.example.test', 'a b', 'ca/../../x', 'a\0b', 'fe80::1%eth0', 'a..b');

    for (const name of refused) {
      await assert.rejects(ca.secureContextFor(name), (error: Error) => {
        assert.ok(error instanceof InvalidHostnameError, `${JSON.stringify(name)} refused`);
        assert.ok(error.message.includes(JSON.stringify(name.slice(0, 80))), error.message);
        return true;
      });
    }
    // Names that look like store files are only names: certified, never written anywhere.
    for (const name of ['ca', 'ca.pem', 'ca.private.key']) {
      const leaf = new X509Certificate(await ca.certificatePemFor(name));
      assert.equal(leaf.subjectAltName, `DNS:${name}`);
    }

    assert.deepEqual(await snapshot(tmp.dir), before);
    assert.equal(await readFile(ca.certPath, 'utf8'), ca.certPem);
  });

  it('signs exactly one certificate for 50 simultaneous asks for a new host', async () => {
    const { leavesSigned, cacheHits } = ca.stats;
    const contexts = await Promise.all(
      Array.from({ length: 50 }, () => ca.secureContextFor('new.test')),
    );

    assert.equal(ca.stats.leavesSigned, leavesSigned + 1);
    assert.equal(ca.stats.cacheHits, cacheHits + 49);
    assert.ok(contexts.every((context) => context === contexts[0]));
  });

  it('keeps at most cacheSize contexts, dropping the least recently used', async () => {
    const small = await CertificateAuthority.loadOrCreate({ dataDir, cacheSize: 2 });
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
      await ca.secureContextFor(`timing-${i}.test`);
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

describe('TLS handshakes with the served certificates', () => {
  async function listen(server: net.Server, host: string): Promise<number> {
    await new Promise<void>((resolve) => server.listen(0, host, resolve));
    return (server.address() as AddressInfo).port;
  }

  async function close(server: net.Server): Promise<void> {
    if (server instanceof https.Server) server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  function hello(): https.Server {
    return https.createServer({ SNICallback: ca.sniCallback }, (req, res) => {
      res.end(`hello ${req.headers.host}`);
    });
  }

  async function curl(...args: string[]): Promise<string> {
    const options = { timeout: 10_000 };
    return (await run('/usr/bin/curl', ['-sS', '--max-time', '8', ...args], options)).stdout;
  }

  it('serves an SNI leaf curl accepts with --cacert, chained to the CA', async () => {
    const server = hello();
    try {
      const port = await listen(server, '127.0.0.1');
      const url = `https://a.test:${port}/`;
      const resolve = `a.test:${port}:127.0.0.1`;
      assert.equal(
        await curl('--cacert', ca.certPath, '--resolve', resolve, url),
        `hello a.test:${port}`,
      );

      const sClient = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'a.test'];
      const shown = await openssl(...sClient, '-showcerts');
      const served = shown.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
      assert.equal(served?.length, 2);
      assert.equal(new X509Certificate(served[1]!).fingerprint256, ca.fingerprint256);
      assert.ok(new X509Certificate(served[0]!).checkHost('a.test'));
    } finally {
      await close(server);
    }
  });

  for (const [address, urlHost] of [
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '[::1]'],
  ] as const) {
    it(`serves the IP SAN leaf for ${urlHost} to curl, which sends no SNI`, async () => {
      // Clients send no SNI for IP literals; the proxy picks the context from the CONNECT host
      // and wraps the socket itself, as here.
      const secureContext = await ca.secureContextFor(address);
      const app = http.createServer((req, res) => res.end('by address'));
      const server = net.createServer((socket) => {
        app.emit('connection', new tls.TLSSocket(socket, { isServer: true, secureContext }));
      });
      try {
        const port = await listen(server, address);
        const url = `https://${urlHost}:${port}/`;
        assert.equal(await curl('--cacert', ca.certPath, url), 'by address');
      } finally {
        app.closeAllConnections();
        await close(server);
      }
    });
  }

  it('fails only a handshake with an invalid SNI name, then serves the next', async () => {
    const server = hello();
    try {
      const port = await listen(server, '127.0.0.1');
      const refused = tls.connect({
        host: '127.0.0.1',
        port,
        servername: 'bad..name',
        ca: ca.certPem,
      });
      await assert.rejects(
        new Promise((resolve, reject) =>
          refused.once('secureConnect', resolve).once('error', reject),
        ),
        /alert|disconnected|ECONNRESET/i,
      );
      refused.destroy();

      const resolve = `b.test:${port}:127.0.0.1`;
      const body = await curl(
        '--cacert',
        ca.certPath,
        '--resolve',
        resolve,
        `https://b.test:${port}/`,
      );
      assert.equal(body, `hello b.test:${port}`);
    } finally {
      await close(server);
    }
  });

  /** Headless Chromium with its own HOME, so its NSS trust store is a temp one. */
  async function chromiumWith(home: string, extraArgs: string[]): Promise<Browser> {
    return chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      timeout: 30_000,
      env: { ...process.env, HOME: home },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--host-resolver-rules=MAP *.test 127.0.0.1',
        ...extraArgs,
      ],
    });
  }

  async function visit(browser: Browser, url: string): Promise<string> {
    const page = await browser.newPage();
    const response = await page.goto(url, { timeout: 15_000 });
    assert.equal(response?.status(), 200);
    return page.innerText('body');
  }

  it('is trusted by Chromium through an NSS db holding the CA', async () => {
    const server = hello();
    const home = path.join(tmp.dir, 'chromium-home');
    const nssdb = `sql:${path.join(home, '.pki', 'nssdb')}`;
    await mkdir(path.join(home, '.pki', 'nssdb'), { recursive: true });
    await run('certutil', ['-d', nssdb, '-N', '--empty-password'], { timeout: 10_000 });
    const trust = ['-d', nssdb, '-A', '-t', 'C,,', '-n', 'Tollgate', '-i', ca.certPath];
    await run('certutil', trust, { timeout: 10_000 });

    let browser: Browser | undefined;
    try {
      const port = await listen(server, '127.0.0.1');
      browser = await chromiumWith(home, []);
      assert.equal(
        await visit(browser, `https://browser.test:${port}/`),
        `hello browser.test:${port}`,
      );
    } finally {
      await browser?.close();
      await close(server);
    }
  });

  it("lets Chromium pin the CA's SPKI, which works because the chain includes the CA", async () => {
    const server = hello();
    const spki = new X509Certificate(ca.certPem).publicKey.export({ type: 'spki', format: 'der' });
    const pin = createHash('sha256').update(spki).digest('base64');

    let browser: Browser | undefined;
    try {
      const port = await listen(server, '127.0.0.1');
      browser = await chromiumWith(path.join(tmp.dir, 'untrusting-home'), [
        `--ignore-certificate-errors-spki-list=${pin}`,
      ]);
      assert.equal(
        await visit(browser, `https://pinned.test:${port}/`),
        `hello pinned.test:${port}`,
      );
    } finally {
      await browser?.close();
      await close(server);
    }
  });
});
