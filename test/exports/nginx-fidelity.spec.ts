import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { exportPolicy } from '../../proxy-core/exports/index.ts';
import { PolicyEngine } from '../../proxy-core/policies/engine.ts';
import type { Policy } from '../../proxy-core/policies/schema.ts';
import { startTestTollgate, type TestTollgate } from '../support/tollgate.ts';
import { startHttpUpstream, type TestUpstream } from '../support/upstream.ts';
import YAML from 'yaml';
import { fixtureText, policyFrom } from '../policies/helpers.ts';
import {
  nginxPrefix,
  nginxTest,
  startNginx,
  type NginxPrefix,
  type RunningNginx,
} from './nginx-runner.ts';

/**
 * The example policy with its free minute limit as a leaky bucket (GCRA, burst 4: five back to
 * back), the algorithm NGINX's limit_req implements; pro keeps its token bucket, which NGINX
 * expresses exactly. A small token-bucket tier (2/minute + burst 2: four tokens) shows the
 * bucket's edge within a few requests. Both sides send to the same local upstream.
 */
function fidelityPolicy(upstream: string): Policy {
  const document = YAML.parse(fixtureText('example.yaml')) as {
    apis: { upstream: string }[];
    tiers: { name: string; routes: string[]; limits: Record<string, unknown>[] }[];
    consumers: { name: string; tier: string; keys: string[] }[];
  };
  document.apis[0]!.upstream = upstream;
  Object.assign(document.tiers[0]!.limits[0]!, { algorithm: 'gcra', burst: 4 });
  document.tiers.push({
    name: 'trial',
    routes: ['read'],
    limits: [{ requests: 2, per: 'minute', burst: 2, algorithm: 'token-bucket' }],
  });
  document.consumers.push({ name: 'acme-trial', tier: 'trial', keys: [TRIAL] });
  return policyFrom(YAML.stringify(document));
}

interface Step {
  label: string;
  method: 'GET' | 'POST';
  path: string;
  key?: string;
  /** `header` (x-api-key) or `query` (?api_key=). */
  via?: 'header' | 'query';
}

const FREE = 'free-key-123';
const PRO = 'pro-key-456';
const TRIAL = 'trial-key-789';

const SEQUENCE: Step[] = [
  { label: 'no key', method: 'GET', path: '/v1/forecast/paris' },
  { label: 'wrong key', method: 'GET', path: '/v1/forecast/paris', key: 'not-a-key-999' },
  { label: 'no route', method: 'GET', path: '/v2/nothing', key: FREE },
  { label: 'free POST outside tier', method: 'POST', path: '/v1/alerts', key: FREE },
  { label: 'free bulk outside tier', method: 'GET', path: '/v1/history/2020', key: FREE },
  ...Array.from({ length: 6 }, (_, i): Step => ({
    label: `free burst #${i + 1}`,
    method: 'GET',
    path: `/v1/forecast/city-${i}`,
    key: FREE,
  })),
  {
    label: 'free by query, still limited',
    method: 'GET',
    path: '/v1/forecast/x',
    key: FREE,
    via: 'query',
  },
  { label: 'pro POST', method: 'POST', path: '/v1/alerts', key: PRO },
  { label: 'pro bulk', method: 'GET', path: '/v1/history/2020', key: PRO },
  { label: 'pro read by query', method: 'GET', path: '/v1/forecast/rome', key: PRO, via: 'query' },
  ...Array.from({ length: 5 }, (_, i): Step => ({
    label: `trial bucket #${i + 1}`,
    method: 'GET',
    path: `/v1/forecast/town-${i}`,
    key: TRIAL,
  })),
];

interface Answer {
  status: number;
  /** The problem code of a refusal (`AUTH_MISSING`…), or empty for a forwarded request. */
  code: string;
  wwwAuthenticate: string;
  retryAfter: boolean;
}

/** Sends one step with curl, either to a reverse gateway (nginx) or through a forward proxy. */
function send(step: Step, target: { base: string; proxy?: string }): Promise<Answer> {
  const query = step.key && step.via === 'query' ? `?api_key=${step.key}` : '';
  const url = `${target.base}${step.path}${query}`;
  const args = ['-sS', '-i', '--max-time', '10', '-X', step.method];
  if (target.proxy) args.push('-x', target.proxy);
  else args.push('-H', 'Host: api.weather.test');
  if (step.key && step.via !== 'query') args.push('-H', `x-api-key: ${step.key}`);
  if (step.method === 'POST') args.push('--data-binary', '{"alert":"storm"}');
  args.push(url);

  return new Promise((resolve, reject) => {
    execFile('/usr/bin/curl', args, { timeout: 15_000 }, (error, stdout) => {
      if (error) return reject(new Error(`curl failed for "${step.label}": ${error.message}`));
      const head = stdout.slice(0, stdout.indexOf('\r\n\r\n'));
      const body = stdout.slice(head.length + 4);
      const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1] ?? 0);
      const isProblem = /^content-type: application\/problem\+json/im.test(head);
      resolve({
        status,
        code: isProblem ? String((JSON.parse(body) as { code?: string }).code) : '',
        wwwAuthenticate: /^www-authenticate: (.*)$/im.exec(head)?.[1]?.trim() ?? '',
        retryAfter: /^retry-after:\s*\d+/im.test(head),
      });
    });
  });
}

async function run(target: { base: string; proxy?: string }): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const step of SEQUENCE) answers.push(await send(step, target));
  return answers;
}

describe('nginx export behaves like Tollgate', { timeout: 60_000 }, () => {
  let upstream: TestUpstream;
  let prefix: NginxPrefix | undefined;
  let nginx: RunningNginx | undefined;
  let tollgate: TestTollgate | undefined;
  let engine: PolicyEngine | undefined;
  let policy: Policy;

  before(async () => {
    upstream = await startHttpUpstream();
    policy = fidelityPolicy(upstream.url);
  });
  after(async () => {
    await nginx?.stop();
    await prefix?.remove();
    await tollgate?.stop();
    engine?.close();
    await upstream?.close();
  });

  it('exports the leaky bucket and token bucket without approximation', () => {
    const { warnings } = exportPolicy(policy, 'nginx', { includeKeys: true });
    const approximated = warnings.filter((w) => w.code === 'nginx.algorithm-approximated');
    assert.deepEqual(approximated, []);
  });

  it('passes nginx -t, then answers the sequence with the statuses Tollgate gives', async () => {
    const exported = exportPolicy(policy, 'nginx', { includeKeys: true }).files[0]!.content;
    prefix = await nginxPrefix(exported);
    const check = await nginxTest(prefix);
    assert.equal(check.code, 0, check.output);

    nginx = await startNginx(prefix);
    const fromNginx = await run({ base: `http://127.0.0.1:${nginx.port}` });

    engine = new PolicyEngine({ policy });
    tollgate = await startTestTollgate({ hooks: engine });
    const fromTollgate = await run({ base: 'http://api.weather.test', proxy: tollgate.proxyUrl });

    const table = SEQUENCE.map((step, i) => ({
      step: step.label,
      nginx: `${fromNginx[i]!.status} ${fromNginx[i]!.code}`,
      tollgate: `${fromTollgate[i]!.status} ${fromTollgate[i]!.code}`,
    }));
    const summary = JSON.stringify(table, null, 1);
    assert.deepEqual(
      fromNginx.map((a) => a.status),
      fromTollgate.map((a) => a.status),
      summary,
    );
    assert.deepEqual(
      fromNginx.map((a) => a.code),
      fromTollgate.map((a) => a.code),
      summary,
    );

    // What the policy says, so a sequence where both sides fail alike cannot pass.
    const statuses = fromTollgate.map((a) => a.status);
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 404, 403, 403]);
    assert.deepEqual(statuses.slice(5, 12), [200, 200, 200, 200, 200, 429, 429]);
    assert.deepEqual(statuses.slice(12, 15), [200, 200, 200]);
    assert.deepEqual(statuses.slice(15), [200, 200, 200, 200, 429]);

    for (const [i, step] of SEQUENCE.entries()) {
      const status = fromTollgate[i]!.status;
      for (const [side, answers] of [
        ['nginx', fromNginx],
        ['tollgate', fromTollgate],
      ] as const) {
        if (status === 401)
          assert.ok(answers[i]!.wwwAuthenticate, `${side}: ${step.label} lacks WWW-Authenticate`);
        if (status === 429)
          assert.ok(answers[i]!.retryAfter, `${side}: ${step.label} lacks Retry-After`);
      }
    }
  });
});
