/**
 * Reading and creating what the CA store holds: the install id, the CA key and certificate, and
 * the shared leaf key. A store we cannot read is reported with the file and the fix, never
 * silently replaced, because the user may have trusted that CA.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Logger } from '../../log/logger.ts';
import { createCaMaterial } from './ca-certificate.ts';
import {
  PRIVATE_FILE_MODE,
  PUBLIC_FILE_MODE,
  readIfExists,
  tightenPrivateFile,
  writeFileAtomic,
  type CaPaths,
} from './ca-files.ts';

const INSTALL_ID = /^[0-9a-f]{16}$/;
const generateKeyPairAsync = promisify(generateKeyPair);

export interface CaStoreContents {
  installId: string;
  certPem: string;
  caKey: KeyObject;
  leafKey: KeyObject;
  leafKeyPem: string;
}

/** Loads the store at `paths`, creating what is missing; `regenerate` replaces CA and leaf key. */
export async function openCaStore(
  paths: CaPaths,
  regenerate: boolean,
  log: Logger,
): Promise<CaStoreContents> {
  const installId = await loadInstallId(paths);
  const ca = await loadOrCreateCa(paths, installId, regenerate, log);
  const leaf = await loadOrCreateLeafKey(paths, regenerate, log);
  return { installId, ...ca, leafKey: leaf.key, leafKeyPem: leaf.pem };
}

async function loadInstallId(paths: CaPaths): Promise<string> {
  const stored = (await readIfExists(paths.installIdPath))?.trim();
  if (stored && INSTALL_ID.test(stored)) return stored;

  const installId = randomBytes(8).toString('hex');
  await writeFileAtomic(paths.installIdPath, installId + '\n', PUBLIC_FILE_MODE);
  return installId;
}

async function loadOrCreateCa(
  paths: CaPaths,
  installId: string,
  regenerate: boolean,
  log: Logger,
): Promise<{ certPem: string; caKey: KeyObject }> {
  const certPem = regenerate ? null : await readIfExists(paths.certPath);
  const keyPem = regenerate ? null : await readIfExists(paths.privateKeyPath);

  if (certPem === null || keyPem === null) {
    if (certPem !== null || keyPem !== null) {
      log.warn('CA store was incomplete; creating a new CA', { dir: paths.dir });
    }
    const created = await createCaMaterial(installId);
    // Key first: a cert on disk always has its key beside it.
    await writeFileAtomic(paths.privateKeyPath, created.privateKeyPem, PRIVATE_FILE_MODE);
    await writeFileAtomic(paths.publicKeyPath, created.publicKeyPem, PUBLIC_FILE_MODE);
    await writeFileAtomic(paths.certPath, created.certPem, PUBLIC_FILE_MODE);
    log.info('created local CA', { path: paths.certPath });
    return { certPem: created.certPem, caKey: createPrivateKey(created.privateKeyPem) };
  }

  const fix = 'Run `tollgate ca --regenerate` to make a new CA (and trust it again).';
  const caKey = parseOrExplain(() => createPrivateKey(keyPem), paths.privateKeyPath, fix);
  const cert = parseOrExplain(() => new X509Certificate(certPem), paths.certPath, fix);
  if (!cert.ca || caKey.asymmetricKeyType !== 'rsa' || !cert.checkPrivateKey(caKey)) {
    throw new Error(`${paths.certPath} is not an RSA CA matching ${paths.privateKeyPath}. ${fix}`);
  }

  if (await tightenPrivateFile(paths.privateKeyPath)) {
    log.warn('CA private key was readable by others; narrowed it to 0600', {
      path: paths.privateKeyPath,
    });
  }
  if ((await readIfExists(paths.publicKeyPath)) === null) {
    const publicPem = createPublicKey(caKey).export({ type: 'spki', format: 'pem' }).toString();
    await writeFileAtomic(paths.publicKeyPath, publicPem, PUBLIC_FILE_MODE);
  }
  if (new Date(cert.validTo).getTime() < Date.now()) {
    log.warn('the local CA has expired; clients will refuse its certificates', { fix });
  }
  return { certPem, caKey };
}

/** The one key pair all leaves share: ECDSA P-256 (see docs/decisions/certificates.md). */
async function loadOrCreateLeafKey(
  paths: CaPaths,
  regenerate: boolean,
  log: Logger,
): Promise<{ key: KeyObject; pem: string }> {
  const stored = regenerate ? null : await readIfExists(paths.leafKeyPath);
  if (stored !== null) {
    try {
      const key = createPrivateKey(stored);
      if (key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
        await tightenPrivateFile(paths.leafKeyPath);
        return { key, pem: stored };
      }
    } catch {
      // Unreadable: nothing trusts this key by itself, so replacing it is safe.
    }
    log.warn('leaf key was unusable; making a new one', { path: paths.leafKeyPath });
  }

  const { privateKey } = await generateKeyPairAsync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  await writeFileAtomic(paths.leafKeyPath, privateKey, PRIVATE_FILE_MODE);
  return { key: createPrivateKey(privateKey), pem: privateKey };
}

function parseOrExplain<T>(parse: () => T, file: string, fix: string): T {
  try {
    return parse();
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as Error).message}. ${fix}`, { cause: error });
  }
}
