import { createLogger } from '../../log/logger.ts';
import { CertificateAuthority } from '../../server/tls/certificate-authority.ts';
import { parseCommandArgs, resolveDataDir, UsageError, type Command } from '../command.ts';

const USAGE = `Usage: tollgate ca [--path | --pem | --regenerate] [--data-dir DIR]

Shows Tollgate's local certificate authority, creating it on first use.

Options:
  --path         print only the CA certificate's path, e.g. curl --cacert "$(tollgate ca --path)"
  --pem          print only the CA certificate (PEM)
  --regenerate   replace the CA with a new one; trust the new one again, restart 'tollgate serve'
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
      ? await CertificateAuthority.regenerate(options)
      : await CertificateAuthority.loadOrCreate(options);

    if (values.path) stdout(ca.certPath + '\n');
    else if (values.pem) stdout(ca.certPem);
    else stdout(describe(ca, Boolean(values.regenerate)));
    return 0;
  },
};

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
