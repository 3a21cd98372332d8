/**
 * Real clients for the proxy tests: curl as a child process and raw sockets for input no
 * well-behaved client would send.
 */

import { execFile } from 'node:child_process';
import net from 'node:net';

export interface CurlResult {
  /** curl's exit code: 0, or why it failed (e.g. 35 for a TLS handshake error). */
  exitCode: number;
  status: number;
  headers: Record<string, string>;
  body: string;
  stderr: string;
}

/** Runs /usr/bin/curl with `args` (URL included) and parses the final response. */
export function curl(args: string[], timeoutMs = 15_000): Promise<CurlResult> {
  const fullArgs = ['-sS', '-i', '--suppress-connect-headers', '--max-time', '10', ...args];
  return new Promise((resolve) => {
    execFile(
      '/usr/bin/curl',
      fullArgs,
      { encoding: 'utf8', timeout: timeoutMs },
      (error, stdout, stderr) => {
        const exitCode = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ exitCode, stderr, ...parseResponse(stdout) });
      },
    );
  });
}

/** curl through a Tollgate proxy, trusting its CA. */
export function curlVia(
  proxy: { proxyUrl: string; caPath: string },
  args: string[],
): Promise<CurlResult> {
  return curl(['-x', proxy.proxyUrl, '--cacert', proxy.caPath, ...args]);
}

/** Parses `HTTP/1.1 200 OK\r\nname: value\r\n\r\nbody`; status 0 when nothing came. */
export function parseResponse(text: string): Pick<CurlResult, 'status' | 'headers' | 'body'> {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end + 4);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine)?.[1] ?? 0);

  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, body };
}

/**
 * Sends `data` (string or chunks with pauses) on a fresh connection and collects everything
 * the server writes until it closes the connection or `timeoutMs` passes.
 */
export function rawExchange(
  port: number,
  data: string | Buffer,
  options: { host?: string; timeoutMs?: number } = {},
): Promise<{ text: string; closedByServer: boolean; elapsedMs: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: options.host ?? '127.0.0.1' });
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const timer = setTimeout(() => socket.destroy(), options.timeoutMs ?? 5000);

    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => {
      closedByServer = true;
      socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({
        text: Buffer.concat(chunks).toString('latin1'),
        closedByServer,
        elapsedMs: Date.now() - started,
      });
    });
    socket.write(data);
  });
}

/** The problem+json body of a response, parsed; throws if it is not one. */
export function problemOf(result: Pick<CurlResult, 'headers' | 'body'>): {
  code: string;
  status: number;
  title: string;
  detail?: string;
} {
  if (!result.headers['content-type']?.startsWith('application/problem+json')) {
    throw new Error(`not a problem response: ${result.headers['content-type']} ${result.body}`);
  }
  return JSON.parse(result.body) as { code: string; status: number; title: string };
}
