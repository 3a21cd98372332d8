/**
 * The small DER pieces shared by the CA and leaf builders. forge builds the certificate
 * structure; the signature is computed by node:crypto (native, ~50x faster than forge's RSA).
 */
import { sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const { asn1 } = forge;

/** With a callback, crypto.sign runs on libuv's thread pool, off the event loop. */
const signAsync = promisify(sign);

export const OID = {
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

export function toDer(node: forge.asn1.Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

export function fromDer(der: Buffer): forge.asn1.Asn1 {
  return asn1.fromDer(der.toString('binary'));
}

export function oid(value: string): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(value).getBytes());
}

export function sequence(items: forge.asn1.Asn1[]): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
}

export function rsaSha256AlgorithmIdentifier(): forge.asn1.Asn1 {
  return sequence([
    oid(OID.sha256WithRSAEncryption),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''),
  ]);
}

/** One X.509 extension: `SEQUENCE { extnID, critical?, OCTET STRING(DER of value) }`. */
export function extension(id: string, critical: boolean, value: forge.asn1.Asn1): forge.asn1.Asn1 {
  const parts = [oid(id)];
  if (critical) parts.push(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BOOLEAN, false, '\xff'));
  parts.push(
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, asn1.toDer(value).getBytes()),
  );
  return sequence(parts);
}

/**
 * Signs a DER TBSCertificate with the issuer's RSA key (PKCS#1 v1.5, SHA-256) and returns the
 * whole certificate: `SEQUENCE { tbsCertificate, signatureAlgorithm, BIT STRING signature }`.
 */
export async function signCertificate(tbsDer: Buffer, issuerKey: KeyObject): Promise<Buffer> {
  const signature = await signAsync('sha256', tbsDer, issuerKey);
  const algorithm = toDer(rsaSha256AlgorithmIdentifier());
  const bitString = Buffer.concat([derHeader(0x03, signature.length + 1), Buffer.of(0), signature]);
  const body = Buffer.concat([tbsDer, algorithm, bitString]);
  return Buffer.concat([derHeader(0x30, body.length), body]);
}

export function derToPem(der: Buffer, label = 'CERTIFICATE'): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Tag and definite length; lengths here never need more than four length bytes. */
function derHeader(tag: number, length: number): Buffer {
  if (length < 0x80) return Buffer.of(tag, length);

  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.of(tag, 0x80 | bytes.length, ...bytes);
}
