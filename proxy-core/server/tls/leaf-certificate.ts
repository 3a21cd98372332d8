/**
 * Per-host leaf certificates, signed by the local CA in well under a millisecond.
 *
 * Guarantees: every leaf has a SAN (DNS, or IP for address literals), EKU serverAuth, keyUsage
 * digitalSignature (critical; the leaf key is ECDSA, so no keyEncipherment), CA:FALSE,
 * subject/authority key identifiers, SHA-256 with RSA, a positive 126-bit random serial, and a
 * validity of 179 days including one hour of backdating, never past the CA's own expiry.
 *
 * All leaves share one key pair made once per install; per host we only build and sign. forge's
 * asn1 helpers lay out the TBSCertificate and node:crypto signs it (forge's JS RSA: ~21 ms).
 */
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import type { CertificateHost } from './hostname.ts';
import { randomSerialNumber } from './serial-number.ts';
import { BACKDATE_MS } from './ca-certificate.ts';
import {
  OID,
  derToPem,
  extension,
  fromDer,
  oid,
  rsaSha256AlgorithmIdentifier,
  sequence,
  signCertificate,
  toDer,
} from './x509-der.ts';

const { asn1 } = forge;
const { Class, Type } = asn1;

const DAY_MS = 24 * 60 * 60 * 1000;
/** Total lifetime, backdating included, stays under the 180 days we promise. */
const LEAF_LIFETIME_MS = 179 * DAY_MS;
/** The longest CN allowed by X.520; longer names live in the SAN only. */
const MAX_COMMON_NAME = 64;

export interface SignedLeaf {
  der: Buffer;
  pem: string;
  notAfter: Date;
}

export class LeafSigner {
  readonly #caKey: KeyObject;
  readonly #caNotAfter: Date;
  readonly #issuer: forge.asn1.Asn1;
  readonly #publicKeyInfo: forge.asn1.Asn1;
  readonly #fixedExtensions: forge.asn1.Asn1[];

  constructor(options: { caCertPem: string; caKey: KeyObject; leafPublicKey: KeyObject }) {
    const caCert = new X509Certificate(options.caCertPem);
    this.#caKey = options.caKey;
    this.#caNotAfter = new Date(caCert.validTo);

    // The issuer must match the CA's subject byte for byte, so it is copied, not rebuilt.
    const caTbs = fromDer(caCert.raw).value[0] as forge.asn1.Asn1;
    this.#issuer = (caTbs.value as forge.asn1.Asn1[])[5]!;

    const leafSpki = options.leafPublicKey.export({ type: 'spki', format: 'der' });
    this.#publicKeyInfo = fromDer(leafSpki);

    this.#fixedExtensions = [
      extension(OID.basicConstraints, true, sequence([])),
      extension(OID.keyUsage, true, bitString(0x80, 7)),
      extension(OID.extKeyUsage, false, sequence([oid(OID.serverAuth)])),
      extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(this.#publicKeyInfo))),
      extension(
        OID.authorityKeyIdentifier,
        false,
        sequence([asn1.create(Class.CONTEXT_SPECIFIC, 0, false, caKeyIdentifier(caCert))]),
      ),
    ];
  }

  async sign(host: CertificateHost, now = new Date()): Promise<SignedLeaf> {
    const notBefore = new Date(now.getTime() - BACKDATE_MS);
    const lifetimeEnd = notBefore.getTime() + LEAF_LIFETIME_MS;
    const notAfter = new Date(Math.min(lifetimeEnd, this.#caNotAfter.getTime()));

    const tbs = sequence([
      asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [integer(Buffer.of(2))]),
      integer(randomSerialNumber()),
      rsaSha256AlgorithmIdentifier(),
      this.#issuer,
      sequence([time(notBefore), time(notAfter)]),
      subjectName(host),
      this.#publicKeyInfo,
      asn1.create(Class.CONTEXT_SPECIFIC, 3, true, [
        sequence([...this.#fixedExtensions, extension(OID.subjectAltName, false, san(host))]),
      ]),
    ]);

    const der = await signCertificate(toDer(tbs), this.#caKey);
    return { der, pem: derToPem(der), notAfter };
  }
}

function subjectName(host: CertificateHost): forge.asn1.Asn1 {
  const attribute = (id: string, value: string) =>
    asn1.create(Class.UNIVERSAL, Type.SET, true, [
      sequence([oid(id), asn1.create(Class.UNIVERSAL, Type.UTF8, false, value)]),
    ]);

  const parts = [attribute(OID.organizationName, 'Tollgate')];
  if (host.name.length <= MAX_COMMON_NAME) parts.push(attribute(OID.commonName, host.name));
  return sequence(parts);
}

/** GeneralNames with one dNSName [2] or iPAddress [7]. */
function san(host: CertificateHost): forge.asn1.Asn1 {
  const name =
    host.kind === 'ip'
      ? asn1.create(Class.CONTEXT_SPECIFIC, 7, false, host.bytes.toString('binary'))
      : asn1.create(Class.CONTEXT_SPECIFIC, 2, false, host.name);
  return sequence([name]);
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING (without its unused-bits byte). */
function keyIdentifier(spki: forge.asn1.Asn1): Buffer {
  const bits = (spki.value as forge.asn1.Asn1[])[1]!.value as string;
  return createHash('sha1').update(Buffer.from(bits, 'binary').subarray(1)).digest();
}

function caKeyIdentifier(caCert: X509Certificate): string {
  const parsed = forge.pki.certificateFromAsn1(fromDer(caCert.raw));
  const ski = parsed.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string };
  if (ski?.subjectKeyIdentifier) return forge.util.hexToBytes(ski.subjectKeyIdentifier);

  const spki = fromDer(caCert.publicKey.export({ type: 'spki', format: 'der' }));
  return keyIdentifier(spki).toString('binary');
}

function integer(bytes: Buffer): forge.asn1.Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.INTEGER, false, bytes.toString('binary'));
}

function octets(bytes: Buffer): forge.asn1.Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, bytes.toString('binary'));
}

function bitString(bits: number, unusedBits: number): forge.asn1.Asn1 {
  return asn1.create(Class.UNIVERSAL, Type.BITSTRING, false, String.fromCharCode(unusedBits, bits));
}

/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 requires. */
function time(date: Date): forge.asn1.Asn1 {
  return date.getUTCFullYear() < 2050
    ? asn1.create(Class.UNIVERSAL, Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(Class.UNIVERSAL, Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}
