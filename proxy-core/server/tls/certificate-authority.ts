/**
 * Tollgate's local certificate authority: loads or creates the per-install CA, and hands out
 * TLS contexts for intercepted hosts.
 *
 * Guarantees: see ca-files.ts (file modes, atomic writes, fixed paths), ca-certificate.ts (CA
 * profile) and leaf-certificate.ts (leaf profile). Here: hostnames are validated before any
 * work and only ever used as cache keys; a new host costs one native signature and no key
 * generation; at most `cacheSize` contexts are kept; concurrent asks for one new host share one
 * signature; contexts serve leaf + CA so SPKI pinning on the CA works.
 */
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import tls from 'node:tls';
import { silentLogger, type Logger } from '../../log/logger.ts';
import {
  caPaths,
  prepareCaDirs,
  removeStaleLeaves,
  withStoreLock,
  type CaPaths,
} from './ca-files.ts';
import { openCaStore } from './ca-store.ts';
import { parseCertificateHost, type CertificateHost } from './hostname.ts';
import { LeafSigner } from './leaf-certificate.ts';
import { LruCache } from './lru-cache.ts';

export interface CertificateAuthorityOptions {
  dataDir: string;
  log?: Logger;
  /** How many hosts keep a ready TLS context. @default 1000 */
  cacheSize?: number;
}

export type SniCallback = (
  servername: string,
  cb: (err: Error | null, ctx?: tls.SecureContext) => void,
) => void;

interface IssuedLeaf {
  context: tls.SecureContext;
  certPem: string;
  /** Re-sign well before expiry, for processes that run for months. */
  renewAt: number;
}

const RENEW_BEFORE_EXPIRY_MS = 7 * 24 * 60 * 60 * 1000;

/** One open at a time per store within this process; withStoreLock covers other processes. */
const storeLocks = new Map<string, Promise<unknown>>();

export class CertificateAuthority {
  readonly dir: string;
  readonly certPath: string;
  readonly certPem: string;
  readonly fingerprint256: string;
  readonly installId: string;
  /** leavesSigned: certificates made; cacheHits: asks answered without signing. */
  readonly stats = { leavesSigned: 0, cacheHits: 0 };

  readonly #signer: LeafSigner;
  readonly #leafKeyPem: string;
  readonly #log: Logger;
  readonly #cache: LruCache<string, IssuedLeaf>;
  readonly #inFlight = new Map<string, Promise<IssuedLeaf>>();

  private constructor(init: {
    paths: CaPaths;
    certPem: string;
    caKey: KeyObject;
    leafKey: KeyObject;
    leafKeyPem: string;
    installId: string;
    log: Logger;
    cacheSize: number;
  }) {
    this.dir = init.paths.dir;
    this.certPath = init.paths.certPath;
    this.certPem = init.certPem;
    this.fingerprint256 = new X509Certificate(init.certPem).fingerprint256;
    this.installId = init.installId;
    this.#leafKeyPem = init.leafKeyPem;
    this.#log = init.log;
    this.#cache = new LruCache(init.cacheSize);
    this.#signer = new LeafSigner({
      caCertPem: init.certPem,
      caKey: init.caKey,
      leafPublicKey: createPublicKey(init.leafKey),
    });
  }

  /** The install's CA, created on first use. */
  static loadOrCreate(options: CertificateAuthorityOptions): Promise<CertificateAuthority> {
    return CertificateAuthority.#open(options, false);
  }

  /**
   * Replaces the CA (new key, new serial) and the shared leaf key, and deletes per-host files
   * left in the store. Instances loaded earlier keep the old CA until they are reloaded.
   */
  static regenerate(options: CertificateAuthorityOptions): Promise<CertificateAuthority> {
    return CertificateAuthority.#open(options, true);
  }

  /**
   * A TLS context for `hostname`: a DNS name or IP literal (`[::1]` too), without a port.
   * Rejects with InvalidHostnameError for anything else.
   */
  async secureContextFor(hostname: string): Promise<tls.SecureContext> {
    return (await this.#leafFor(hostname)).context;
  }

  /** The PEM leaf certificate that secureContextFor serves for `hostname`. */
  async certificatePemFor(hostname: string): Promise<string> {
    return (await this.#leafFor(hostname)).certPem;
  }

  /** For `tls.createServer({ SNICallback })`: an invalid name fails that handshake only. */
  readonly sniCallback: SniCallback = (servername, cb) => {
    this.secureContextFor(servername).then(
      (context) => cb(null, context),
      (error: Error) => {
        this.#log.debug('no certificate for SNI name', { servername, error });
        cb(error);
      },
    );
  };

  async #leafFor(hostname: string): Promise<IssuedLeaf> {
    const host = parseCertificateHost(hostname);

    const cached = this.#cache.get(host.name);
    if (cached && cached.renewAt > Date.now()) {
      this.stats.cacheHits += 1;
      return cached;
    }

    const pending = this.#inFlight.get(host.name);
    if (pending) {
      this.stats.cacheHits += 1;
      return pending;
    }

    const issuing = this.#issue(host).finally(() => this.#inFlight.delete(host.name));
    this.#inFlight.set(host.name, issuing);
    return issuing;
  }

  async #issue(host: CertificateHost): Promise<IssuedLeaf> {
    const leaf = await this.#signer.sign(host);
    this.stats.leavesSigned += 1;

    const context = tls.createSecureContext({
      key: this.#leafKeyPem,
      cert: leaf.pem + this.certPem,
    });
    // A leaf clamped to a CA that expires within days still gets cached for half its life.
    const lifeLeft = leaf.notAfter.getTime() - Date.now();
    const renewAt = leaf.notAfter.getTime() - Math.min(RENEW_BEFORE_EXPIRY_MS, lifeLeft / 2);
    const issued = { context, certPem: leaf.pem, renewAt };
    this.#cache.set(host.name, issued);
    this.#log.debug('signed leaf certificate', { host: host.name });
    return issued;
  }

  static async #open(
    options: CertificateAuthorityOptions,
    regenerate: boolean,
  ): Promise<CertificateAuthority> {
    const paths = caPaths(options.dataDir);
    const log = options.log ?? silentLogger;

    const previous = storeLocks.get(paths.dir) ?? Promise.resolve();
    const opening = previous
      .catch(() => {})
      .then(async () => {
        await prepareCaDirs(paths);
        const contents = await withStoreLock(paths, async () => {
          const opened = await openCaStore(paths, regenerate, log);
          if (regenerate) await removeStaleLeaves(paths);
          return opened;
        });

        const cacheSize = options.cacheSize ?? 1000;
        return new CertificateAuthority({ paths, ...contents, log, cacheSize });
      });
    storeLocks.set(paths.dir, opening);
    return opening;
  }
}
