/**
 * A throwaway CA and one leaf certificate for the bench, made fresh each run and thrown away with
 * the run's temp folder. The upstream serves the leaf; the reference proxy presents it to
 * clients as its one pre-made interception cert. Nothing here is Tollgate's own CA code.
 */

import { generateKeyPair, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateRsa = promisify(generateKeyPair);

/** Names the leaf is valid for: loopback, and every `*.bench.test` host the bench maps. */
const LEAF_NAMES = [
  { type: 2, value: 'localhost' },
  { type: 2, value: 'bench.test' },
  { type: 2, value: '*.bench.test' },
  { type: 7, ip: '127.0.0.1' },
  { type: 7, ip: '::1' },
];

export interface BenchPkiFiles {
  caCertPath: string;
  leafKeyPath: string;
  /** Leaf followed by the CA, so clients that trust the CA can build the chain. */
  leafChainPath: string;
}

export async function writeBenchPki(dir: string): Promise<BenchPkiFiles> {
  const caKeys = await rsaKeyPair();
  const leafKeys = await rsaKeyPair();
  const subject = [{ name: 'commonName', value: 'Tollgate bench throwaway CA' }];

  const ca = newCertificate(caKeys.publicKey, subject, subject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const leaf = newCertificate(
    leafKeys.publicKey,
    [{ name: 'commonName', value: 'localhost' }],
    subject,
  );
  leaf.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: LEAF_NAMES },
  ]);
  leaf.sign(caKeys.privateKey, forge.md.sha256.create());

  const caPem = forge.pki.certificateToPem(ca);
  const files: BenchPkiFiles = {
    caCertPath: path.join(dir, 'bench-ca.pem'),
    leafKeyPath: path.join(dir, 'bench-leaf-key.pem'),
    leafChainPath: path.join(dir, 'bench-leaf-chain.pem'),
  };
  await writeFile(files.caCertPath, caPem);
  await writeFile(files.leafKeyPath, forge.pki.privateKeyToPem(leafKeys.privateKey), {
    mode: 0o600,
  });
  await writeFile(files.leafChainPath, forge.pki.certificateToPem(leaf) + caPem);
  return files;
}

/** node:crypto makes the key (fast, off the main thread); forge only parses it. */
async function rsaKeyPair() {
  const { privateKey } = await generateRsa('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  return {
    privateKey: forgeKey,
    publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e),
  };
}

function newCertificate(
  publicKey: forge.pki.PublicKey,
  subject: forge.pki.CertificateField[],
  issuer: forge.pki.CertificateField[],
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A leading 0x01 byte keeps the serial positive and 64+ bits long.
  cert.serialNumber = '01' + randomBytes(9).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 7 * 24 * 3600_000);
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  return cert;
}
