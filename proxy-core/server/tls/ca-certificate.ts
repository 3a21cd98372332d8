/**
 * Making Tollgate's local CA: a fresh RSA 2048 key (generated off the event loop by
 * node:crypto, never forge's synchronous keygen) and a self-signed certificate built with forge.
 *
 * Guarantees: CA:TRUE (critical, path length 0: it signs leaves only), keyUsage
 * keyCertSign+cRLSign (critical), a subject key identifier, SHA-256, a positive random serial
 * of 126 bits, and a subject naming this install ("Tollgate local CA <installId>", O=Tollgate).
 */
import { createPrivateKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { randomSerialNumber } from './serial-number.ts';
import { signCertificate, derToPem, toDer } from './x509-der.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

/** forge exports this, but @types/node-forge does not declare it. */
const { getTBSCertificate } = forge.pki as unknown as {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
};

const CA_VALIDITY_YEARS = 10;
/** Clocks of clients and this machine may disagree a little; an hour absorbs that. */
export const BACKDATE_MS = 60 * 60 * 1000;

export interface CaMaterial {
  /** PKCS#1 PEM, the format http-mitm-proxy's loader (forge) reads too. */
  privateKeyPem: string;
  publicKeyPem: string;
  certPem: string;
}

export async function createCaMaterial(installId: string, now = new Date()): Promise<CaMaterial> {
  const { privateKey: privateKeyPem, publicKey: publicKeyPem } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = randomSerialNumber().toString('hex');
  cert.validity.notBefore = new Date(now.getTime() - BACKDATE_MS);
  cert.validity.notAfter = new Date(now.getTime());
  cert.validity.notAfter.setUTCFullYear(now.getUTCFullYear() + CA_VALIDITY_YEARS);

  const name = [
    { shortName: 'CN', value: `Tollgate local CA ${installId}`, valueTagClass: utf8() },
    { shortName: 'O', value: 'Tollgate', valueTagClass: utf8() },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);

  // forge lays out the TBSCertificate; node:crypto computes the signature.
  cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  const tbs = toDer(getTBSCertificate(cert));
  const der = await signCertificate(tbs, createPrivateKey(privateKeyPem));
  return { privateKeyPem, publicKeyPem, certPem: derToPem(der) };
}

/**
 * UTF8String, so names are not limited to PrintableString's character set. forge reads this
 * field as an ASN.1 type number; @types/node-forge mistypes it as a tag class.
 */
function utf8(): forge.asn1.Class {
  return forge.asn1.Type.UTF8 as unknown as forge.asn1.Class;
}
