import { mkdir } from 'node:fs/promises';
import { createLogger, type Logger } from '../../log/logger.ts';
import { CertificateAuthority } from '../../server/tls/certificate-authority.ts';
import { DataDirLock } from '../../store/lock-file.ts';
import { StoreError } from '../../store/store-error.ts';
import { parseCommandArgs, resolveDataDir, UsageError, type Command } from '../command.ts';

const USAGE = `Usage: tollgate ca [--path | --pem | --regenerate] [--data-dir DIR]

Shows Tollgate's local certificate authority, creating it on first use.

Options:
  --path         print only the CA certificate's path, e.g. curl --cacert "$(tollgate ca --path)"
  --pem          print only the CA certificate (PEM)
  --regenerate   replace the CA with a new one, then trust the new one; refused while Tollgate
                 runs on this data dir (stop it first)
  --data-dir DIR where Tollgate keeps its data (default: the per-user app data folder)
  -v, --verbose  debug logging on stderr`;

export const caCommand: Command = {
  summary: "Show, print or regenerate the local CA that signs intercepted hosts' certificates",
  usage: USAGE,

  async run({ argv, stdout }) {
    const { values, positionals } = parseCommandArgs(argv, {
      path: { type: 'boolean' },
      pem: { type: 'boolean' },
      regenerate: { type: 'boolean' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const modes = (['path', 'pem', 'regenerate'] as const).filter((mode) => values[mode]);
    if (modes.length > 1) throw new UsageError(`choose one of --${modes.join(', --')}`);

    const options = {
      dataDir: resolveDataDir(values['data-dir']),
      log: createLogger({ level: values.verbose ? 'debug' : 'warn' }, 'ca'),
    };
    const ca = values.regenerate
      ? await regenerateWhileIdle(options)
      : await CertificateAuthority.loadOrCreate(options);

    if (values.path) stdout(ca.certPath + '\n');
    else if (values.pem) stdout(ca.certPem);
    else stdout(describe(ca, Boolean(values.regenerate)));
    return 0;
  },
};

/**
 * A running Tollgate keeps signing with the CA it loaded at start, so a CA replaced under it
 * would leave clients trusting a CA the proxy does not use. Holding the data dir's lock while
 * regenerating refuses that case, and keeps a Tollgate from starting halfway through.
 */
async function regenerateWhileIdle(options: { dataDir: string; log: Logger }) {
  await mkdir(options.dataDir, { recursive: true });
  let lock: DataDirLock;
  try {
    lock = await DataDirLock.acquire(options.dataDir);
  } catch (error) {
    if (!(error instanceof StoreError) || error.code !== 'DATA_DIR_BUSY') throw error;
    throw new Error(
      `Tollgate (pid ${error.ownerPid ?? 'unknown'}) is running on ${options.dataDir} and ` +
        'signs with the CA it loaded at start; stop it, regenerate, then start it again',
      { cause: error },
    );
  }
  try {
    return await CertificateAuthority.regenerate(options);
  } finally {
    await lock.release();
  }
}

function describe(ca: CertificateAuthority, regenerated: boolean): string {
  const lines = [
    ...(regenerated
      ? ['A new CA was created. Clients trusting the old one must trust this one instead,', '']
      : []),
    `CA certificate: ${ca.certPath}`,
    `SHA-256:        ${ca.fingerprint256}`,
    `Subject:        Tollgate local CA ${ca.installId}`,
    '',
    'Trust it in the client you test with:',
    `  curl            curl --cacert "${ca.certPath}" ...`,
    `  Node.js         NODE_EXTRA_CA_CERTS="${ca.certPath}"`,
    `  Python          REQUESTS_CA_BUNDLE="${ca.certPath}" (requests), SSL_CERT_FILE=... (ssl)`,
    `  Chromium/Linux  certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n Tollgate -i "${ca.certPath}"`,
    `  macOS           security add-trusted-cert -r trustRoot \\`,
    `                    -k ~/Library/Keychains/login.keychain-db "${ca.certPath}"`,
    `  Windows         certutil -user -addstore Root "${ca.certPath}"`,
    '',
    'Its private key never leaves this folder; anyone with it can intercept your HTTPS traffic.',
  ];
  return lines.join('\n') + '\n';
}
