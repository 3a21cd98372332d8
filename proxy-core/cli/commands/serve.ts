import { startTollgate, type Tollgate } from '../../app.ts';
import { createLogger } from '../../log/logger.ts';
import { parseUpstreamBase } from '../../server/routing.ts';
import { parseCommandArgs, resolveDataDir, UsageError, type Command } from '../command.ts';

const USAGE = `Usage: tollgate serve [options]

Runs the proxy headless until Ctrl+C (SIGINT) or SIGTERM.

Options:
  --proxy-port N            forward proxy port (default 8877)
  --control-port N          control API port (default 8878)
  --listen-host HOST        address to listen on (default 127.0.0.1); anything but loopback
                            also needs --allow-remote
  --allow-remote            accept a non-loopback --listen-host: other machines can then use
                            this proxy and its CA's certificates
  --map HOST=URL            send HOST to URL, e.g. --map api.example.test=http://127.0.0.1:5000
                            (repeatable)
  --reverse URL --port N    also listen on port N and send every request there to URL
  --insecure-upstream HOST  accept an upstream certificate that does not verify, for HOST only
                            (repeatable)
  --policy FILE             the policy to enforce (YAML or JSON); edits apply as you save, an
                            invalid edit is refused and the previous policy stays in force
  --log-entries N           exchanges the live request log keeps (default 10000)
  --log-body-bytes N        bytes of each request and response body the log captures
                            (default 65536; 0 captures none); longer bodies stream through whole
  --data-dir DIR            where Tollgate keeps its data (default: the per-user app data folder)
  -v, --verbose             debug logging on stderr`;

export const serveCommand: Command = {
  summary: 'Run the proxy headless (forward proxy, optional reverse proxy)',
  usage: USAGE,

  async run({ argv, stdout, stderr }) {
    const { values, positionals } = parseCommandArgs(argv, {
      'proxy-port': { type: 'string' },
      'control-port': { type: 'string' },
      'listen-host': { type: 'string' },
      'allow-remote': { type: 'boolean' },
      map: { type: 'string', multiple: true },
      reverse: { type: 'string' },
      port: { type: 'string' },
      'insecure-upstream': { type: 'string', multiple: true },
      policy: { type: 'string' },
      'log-entries': { type: 'string' },
      'log-body-bytes': { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);

    const listenHost = values['listen-host'] ?? '127.0.0.1';
    if (!isLoopbackAddress(listenHost) && !values['allow-remote']) {
      throw new UsageError(`--listen-host ${listenHost} is not loopback; add --allow-remote`);
    }
    if (Boolean(values.reverse) !== Boolean(values.port)) {
      throw new UsageError('--reverse URL and --port N go together');
    }

    const log = createLogger({ level: values.verbose ? 'debug' : 'info' }, 'serve');
    if (!isLoopbackAddress(listenHost)) {
      log.warn('listening beyond loopback: anyone who can reach this port can use the proxy', {
        host: listenHost,
      });
    }
    const reverseTarget = values.reverse;
    const tollgate = await startTollgate({
      dataDir: resolveDataDir(values['data-dir']),
      log,
      listenHost,
      proxyPort: portOption(values['proxy-port'], '--proxy-port', 8877),
      controlPort: portOption(values['control-port'], '--control-port', 8878),
      hostMap: hostMapOption(values.map ?? []),
      ...(reverseTarget
        ? {
            reverse: {
              target: upstreamOption(reverseTarget, '--reverse'),
              port: portOption(values.port, '--port', 0),
            },
          }
        : {}),
      insecureUpstreamHosts: values['insecure-upstream'] ?? [],
      requestLogCapacity: countOption(values['log-entries'], '--log-entries', 1, 10_000),
      captureBodyBytes: countOption(values['log-body-bytes'], '--log-body-bytes', 0, 65_536),
      ...(values.policy ? { policyFile: values.policy } : {}),
    });

    stdout(banner(tollgate, reverseTarget));
    await stopSignal();
    stderr('Stopping…\n');
    await tollgate.close();
    return 0;
  },
};

function banner(tollgate: Tollgate, reverseTarget: string | undefined): string {
  const ca = shellQuote(tollgate.ca.certPath);
  const lines = [
    'Tollgate is running.',
    `  Forward proxy:  ${tollgate.proxyUrl}`,
    ...(tollgate.reverseUrl
      ? [`  Reverse proxy:  ${tollgate.reverseUrl} -> ${reverseTarget}`]
      : []),
    ...(tollgate.control ? [`  Control API:    ${tollgate.control.url}`] : []),
    `  CA certificate: ${tollgate.ca.certPath}`,
    '',
    'Paste into the shell of the client you test:',
    `  export HTTPS_PROXY=${tollgate.proxyUrl}`,
    `  export HTTP_PROXY=${tollgate.proxyUrl}`,
    `  export NODE_EXTRA_CA_CERTS=${ca}`,
    `  export SSL_CERT_FILE=${ca}`,
    `  export REQUESTS_CA_BUNDLE=${ca}`,
    '',
    'Press Ctrl+C to stop.',
  ];
  return lines.join('\n') + '\n';
}

function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function portOption(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new UsageError(`${flag} ${value} is not a port`);
  return port;
}

function countOption(value: string | undefined, flag: string, min: number, fallback: number) {
  if (value === undefined) return fallback;
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < min || !Number.isSafeInteger(count)) {
    throw new UsageError(`${flag} ${value}: expected a whole number of at least ${min}`);
  }
  return count;
}

function hostMapOption(entries: string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of entries) {
    const equals = entry.indexOf('=');
    if (equals <= 0) throw new UsageError(`--map ${entry}: expected HOST=URL`);
    map[entry.slice(0, equals).toLowerCase()] = upstreamOption(entry.slice(equals + 1), '--map');
  }
  return map;
}

function upstreamOption(value: string, flag: string): string {
  try {
    parseUpstreamBase(value);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
  return value;
}

function shellQuote(text: string): string {
  return /^[\w./:@-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Only these keep the proxy private to this machine; 0.0.0.0 and :: listen everywhere. */
function isLoopbackAddress(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
