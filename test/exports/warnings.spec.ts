import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { EXPORT_FORMATS, exportPolicy, type ExportFormat } from '../../proxy-core/exports/index.ts';
import { examplePolicy, policyFrom } from '../policies/helpers.ts';

const lossy = policyFrom(
  readFileSync(new URL('../fixtures/exports/lossy.yaml', import.meta.url), 'utf8'),
);

/**
 * Every lossy translation, with one place in lossy.yaml where it must be reported. A code an
 * exporter emits that is missing here fails the last test, so no new loss goes untested.
 */
const EXPECTED: [ExportFormat, string, string][] = [
  // Features no gateway here carries, reported by each target that drops them.
  ['nginx', 'rule-dropped', 'rules[0]'],
  ['nginx', 'anonymous-tier-dropped', 'apis[0].anonymousTier'],
  ['nginx', 'roles-dropped', 'apis[0].routes[2].roles'],
  ['nginx', 'scope-changed', 'tiers[1].limits[0].scope'],
  ['nginx', 'adaptive-dropped', 'tiers[1].limits[1].adaptive'],
  ['nginx', 'limit-routes-widened', 'tiers[1].limits[1].routes'],
  ['kong', 'rule-dropped', 'rules[0]'],
  ['kong', 'roles-dropped', 'apis[0].routes[2].roles'],
  ['kong', 'scope-changed', 'tiers[1].limits[0].scope'],
  ['kong', 'adaptive-dropped', 'tiers[1].limits[1].adaptive'],
  ['kong', 'limit-routes-widened', 'tiers[1].limits[1].routes'],
  ['tyk', 'rule-dropped', 'rules[0]'],
  ['tyk', 'anonymous-tier-dropped', 'apis[0].anonymousTier'],
  ['tyk', 'roles-dropped', 'apis[0].routes[2].roles'],
  ['tyk', 'scope-changed', 'tiers[1].limits[0].scope'],
  ['tyk', 'adaptive-dropped', 'tiers[1].limits[1].adaptive'],
  ['tyk', 'limit-routes-widened', 'tiers[1].limits[1].routes'],
  ['envoy', 'rule-dropped', 'rules[0]'],
  ['envoy', 'anonymous-tier-dropped', 'apis[0].anonymousTier'],
  ['envoy', 'roles-dropped', 'apis[0].routes[2].roles'],
  ['envoy', 'scope-changed', 'tiers[1].limits[0].scope'],
  ['envoy', 'adaptive-dropped', 'tiers[1].limits[1].adaptive'],
  ['envoy', 'limit-routes-widened', 'tiers[1].limits[1].routes'],
  ['aws', 'rule-dropped', 'rules[0]'],
  ['aws', 'anonymous-tier-dropped', 'apis[0].anonymousTier'],
  ['aws', 'roles-dropped', 'apis[0].routes[2].roles'],
  ['aws', 'scope-changed', 'tiers[1].limits[0].scope'],
  ['aws', 'adaptive-dropped', 'tiers[1].limits[1].adaptive'],
  ['aws', 'limit-routes-widened', 'tiers[1].limits[1].routes'],
  ['openapi', 'rule-dropped', 'rules[0]'],
  // Credentials written on request.
  ...EXPORT_FORMATS.filter((f) => f !== 'openapi').map((f): [ExportFormat, string, string] => [
    f,
    'keys-included',
    'consumers',
  ]),
  // NGINX
  ['nginx', 'jwt-dropped', 'apis[0].auth[1]'],
  ['nginx', 'mtls-dropped', 'apis[1].auth[0]'],
  ['nginx', 'consumer-unsupported', 'consumers[1].name'],
  ['nginx', 'algorithm-approximated', 'tiers[0].limits[0].algorithm'],
  ['nginx', 'quota-not-expressible', 'tiers[0].limits[2]'],
  ['nginx', 'quota-not-expressible', 'tiers[1].limits[2]'],
  ['nginx', 'cost-ignored', 'apis[0].routes[2].cost'],
  ['nginx', 'upstream-missing', 'apis[0].upstream'],
  ['nginx', 'query-key-forwarded', 'apis[0].auth[0].query'],
  ['nginx', 'ratelimit-headers-dropped', 'rateLimitHeaders'],
  // Kong
  ['kong', 'upstream-missing', 'apis[0].upstream'],
  ['kong', 'jwt-claims-unchecked', 'apis[0].auth[1]'],
  ['kong', 'jwt-tier-claim-dropped', 'apis[0].auth[1].tierClaim'],
  ['kong', 'mtls-dropped', 'apis[1].auth[0]'],
  ['kong', 'auth-anonymous-403', 'apis[1].auth'],
  ['kong', 'cost-ignored', 'apis[0].routes[2].cost'],
  ['kong', 'algorithm-approximated', 'tiers[0].limits[1].algorithm'],
  ['kong', 'duplicate-period', 'tiers[0].limits[4]'],
  ['kong', 'period-unsupported', 'tiers[0].limits[5]'],
  ['kong', 'burst-dropped', 'tiers[1].limits[2].burst'],
  ['kong', 'timezone-ignored', 'timezone'],
  ['kong', 'tier-limits-unattached', 'tiers[2].limits'],
  // Tyk
  ['tyk', 'hosts-dropped', 'apis[0].hosts'],
  ['tyk', 'auth-dropped', 'apis[0].auth[1]'],
  ['tyk', 'cost-ignored', 'apis[0].routes[2].cost'],
  ['tyk', 'mtls-certificates-empty', 'apis[1].auth[0]'],
  ['tyk', 'rate-dropped', 'tiers[0].limits[0]'],
  ['tyk', 'quota-not-calendar', 'tiers[0].limits[3].algorithm'],
  ['tyk', 'quota-dropped', 'tiers[0].limits[4]'],
  ['tyk', 'burst-dropped', 'tiers[1].limits[1].burst'],
  // Envoy
  ['envoy', 'algorithm-approximated', 'tiers[0].limits[2].algorithm'],
  ['envoy', 'rate-dropped', 'tiers[0].limits[0]'],
  ['envoy', 'quota-calendar', 'tiers[0].limits[3].algorithm'],
  ['envoy', 'quota-dropped', 'tiers[0].limits[4]'],
  ['envoy', 'period-unsupported', 'tiers[0].limits[5]'],
  ['envoy', 'timezone-ignored', 'timezone'],
  ['envoy', 'jwt-dropped', 'apis[0].auth[1]'],
  ['envoy', 'mtls-dropped', 'apis[1].auth[0]'],
  ['envoy', 'cost-ignored', 'apis[0].routes[2].cost'],
  ['envoy', 'upstream-missing', 'apis[1].upstream'],
  ['envoy', 'tier-limits-unattached', 'tiers[2].limits'],
  // AWS
  ['aws', 'hosts-not-mapped', 'apis[0].hosts'],
  ['aws', 'key-header-fixed', 'apis[0].auth[0].header'],
  ['aws', 'query-key-dropped', 'apis[0].auth[0].query'],
  ['aws', 'jwt-dropped', 'apis[0].auth[1]'],
  ['aws', 'mtls-dropped', 'apis[1].auth[0]'],
  ['aws', 'cost-ignored', 'apis[0].routes[2].cost'],
  ['aws', 'forward-headers-dropped', 'forwardHeaders'],
  ['aws', 'path-approximated', 'apis[0].routes[0].path'],
  ['aws', 'entitlement-as-throttle', 'tiers[0].routes'],
  ['aws', 'rate-per-second', 'tiers[0].limits[2]'],
  ['aws', 'throttle-dropped', 'tiers[0].limits[0]'],
  ['aws', 'quota-calendar', 'tiers[0].limits[3].algorithm'],
  ['aws', 'quota-dropped', 'tiers[0].limits[4]'],
  ['aws', 'timezone-ignored', 'timezone'],
  // OpenAPI
  ['openapi', 'multi-segment-path', 'apis[0].routes[0].path'],
  ['openapi', 'jwt-header-undocumented', 'apis[1].auth[1].header'],
];

describe('export reports name every lossy translation', () => {
  for (const [format, code, path] of EXPECTED) {
    it(`${format}: ${code} at ${path}`, () => {
      const { warnings } = exportPolicy(lossy, format, { includeKeys: true });
      const found = warnings.find((w) => w.code === `${format}.${code}` && w.path === path);
      assert.ok(found, `no ${format}.${code} at ${path}; got:\n${codes(warnings)}`);
      assert.ok(found.message.length > 20, 'the message says why and what was emitted instead');
    });
  }

  it('names the tier and the limit in limit warnings', () => {
    const { warnings } = exportPolicy(lossy, 'nginx');
    const quota = warnings.find((w) => w.path === 'tiers[1].limits[2]');
    assert.match(quota!.message, /tier "gold", limit 100000\/month/);
    assert.match(quota!.message, /nothing emitted/);
  });

  it('Kong Enterprise reports months as 30-day windows and keeps the burst loss', () => {
    const { warnings } = exportPolicy(lossy, 'kong', { kongEdition: 'enterprise' });
    assert.ok(
      warnings.some((w) => w.code === 'kong.month-as-30-days' && w.path === 'tiers[1].limits[2]'),
    );
    assert.ok(
      warnings.some(
        (w) => w.code === 'kong.burst-dropped' && w.path === 'tiers[1].limits[0].burst',
      ),
    );
    assert.ok(
      !warnings.some((w) => w.code === 'kong.period-unsupported'),
      'windows of a week exist',
    );
  });

  it('Envoy with JWT only reports that routes are not restricted per tier', () => {
    const jwtOnly = {
      ...lossy,
      apis: [lossy.apis[1]!],
      tiers: [{ ...lossy.tiers[1]!, routes: ['*'] }],
    };
    const { warnings } = exportPolicy({ ...jwtOnly, consumers: [], rules: [] }, 'envoy');
    assert.ok(warnings.some((w) => w.code === 'envoy.jwt-entitlement-unchecked'));
  });

  it('reports nothing it does not test', () => {
    const tested = new Set(EXPECTED.map(([format, code]) => `${format}.${code}`));
    tested.add('kong.month-as-30-days').add('envoy.jwt-entitlement-unchecked');
    for (const format of EXPORT_FORMATS) {
      for (const options of [{ includeKeys: true }, { kongEdition: 'enterprise' as const }]) {
        for (const warning of exportPolicy(lossy, format, options).warnings) {
          assert.ok(
            tested.has(warning.code),
            `untested warning ${warning.code} at ${warning.path}`,
          );
        }
      }
    }
  });

  it('keeps keys out of every format unless asked', () => {
    const policy = examplePolicy();
    for (const format of EXPORT_FORMATS) {
      const { files, warnings } = exportPolicy(policy, format);
      const text = files.map((f) => f.content).join('\n');
      assert.doesNotMatch(text, /free-key-123|pro-key-456/, `${format} leaked a key`);
      assert.doesNotMatch(text, /dev-secret-change-me/, `${format} leaked the JWT secret`);
      assert.ok(!warnings.some((w) => w.code.endsWith('keys-included')));
    }
  });
});

function codes(warnings: { code: string; path: string }[]): string {
  return warnings.map((w) => `  ${w.code} ${w.path}`).join('\n');
}
