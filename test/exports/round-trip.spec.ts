import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { exportPolicy } from '../../proxy-core/exports/index.ts';
import { importKong } from '../../proxy-core/exports/import-kong.ts';
import { importOpenApi } from '../../proxy-core/exports/import-openapi.ts';
import { ImportError } from '../../proxy-core/exports/import-result.ts';
import { JWT_SECRET_PLACEHOLDER } from '../../proxy-core/exports/tollgate.ts';
import { parsePolicy } from '../../proxy-core/policies/load.ts';
import { resolveRouteRefs } from '../../proxy-core/policies/references.ts';
import type { Policy } from '../../proxy-core/policies/schema.ts';
import { examplePolicy, policyFrom } from '../policies/helpers.ts';

const lossy = policyFrom(
  readFileSync(new URL('../fixtures/exports/lossy.yaml', import.meta.url), 'utf8'),
);

function reparse(text: string): Policy {
  const result = parsePolicy(text);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.policy;
}

/** What a gateway round trip must keep: routes, entitlements, limits, consumers and keys. */
function essentials(policy: Policy) {
  return {
    apis: policy.apis.map((api) => ({
      name: api.name,
      hosts: api.hosts,
      upstream: api.upstream,
      apiKeys: api.auth.filter((m) => m.type === 'apiKey'),
      authTypes: api.auth.map((m) => m.type),
      routes: api.routes.map((r) => ({ name: r.name, methods: r.methods, path: r.path })),
    })),
    tiers: policy.tiers.map((tier) => ({
      name: tier.name,
      routes: [...(resolveRouteRefs(policy, tier.routes) ?? [])].sort(),
      limits: tier.limits.map((l) => ({ requests: l.requests, per: l.per })),
    })),
    consumers: policy.consumers.map((c) => ({ name: c.name, tier: c.tier, keys: c.keys })),
  };
}

describe('tollgate format', () => {
  it('round-trips the example and the lossy policy exactly with keys', () => {
    for (const policy of [examplePolicy(), lossy]) {
      const { files } = exportPolicy(policy, 'tollgate', { includeKeys: true });
      assert.deepEqual(reparse(files[0]!.content), policy);
    }
  });

  it('without keys drops consumer keys and stands a placeholder for the JWT secret', () => {
    const back = reparse(exportPolicy(examplePolicy(), 'tollgate').files[0]!.content);
    assert.deepEqual(
      back.consumers.map((c) => c.keys),
      [[], []],
    );
    const jwt = back.apis[0]!.auth.find((m) => m.type === 'jwt');
    assert.equal(jwt?.type === 'jwt' && jwt.secret, JWT_SECRET_PLACEHOLDER);
  });
});

describe('kong export then import', () => {
  for (const edition of ['oss', 'enterprise'] as const) {
    it(`gives back an equivalent policy (${edition})`, () => {
      const policy = examplePolicy();
      const exported = exportPolicy(policy, 'kong', { includeKeys: true, kongEdition: edition });
      const imported = importKong(exported.files[0]!.content, 'kong.yaml');

      assert.deepEqual(essentials(imported.policy), essentials(policy));
      const jwt = imported.policy.apis[0]!.auth[1];
      assert.equal(jwt?.type === 'jwt' && jwt.secret, 'dev-secret-change-me');
      assert.deepEqual(imported.warnings, []);
    });
  }

  it('keeps every window of every tier and the anonymous tier through Kong Enterprise', () => {
    const exported = exportPolicy(lossy, 'kong', { includeKeys: true, kongEdition: 'enterprise' });
    const imported = importKong(exported.files[0]!.content).policy;
    const windows = (p: Policy) =>
      p.tiers.map((t) => t.limits.map((l) => `${l.requests}/${l.per}`));
    assert.deepEqual(windows(imported), windows(lossy));
    assert.equal(imported.apis[0]!.anonymousTier, 'basic');
  });

  it('reads what the export could not carry as the export reported it', () => {
    const exported = exportPolicy(examplePolicy(), 'kong', { includeKeys: true });
    const imported = importKong(exported.files[0]!.content).policy;
    // Burst and cost were reported lost by the export; the import shows the loss, no more.
    assert.ok(exported.warnings.some((w) => w.code === 'kong.burst-dropped'));
    assert.equal(imported.tiers[1]!.limits[0]!.burst, 0);
    assert.ok(exported.warnings.some((w) => w.code === 'kong.cost-ignored'));
    assert.equal(imported.apis[0]!.routes[2]!.cost, 1);
  });

  it('imports a hand-written decK file with prefix paths and plugins it cannot carry', () => {
    const deck = `
_format_version: "3.0"
services:
  - name: orders
    host: orders.internal
    port: 8080
    protocol: http
    plugins:
      - { name: key-auth, config: { key_names: [apikey] } }
      - { name: cors }
    routes:
      - name: list
        paths: [/orders]
        methods: [GET]
        hosts: [orders.example.test]
        plugins: [{ name: request-transformer }]
consumers:
  - username: alice
    keyauth_credentials: [{ key: alice-key-1234 }]
    acls: [{ group: team }]
    plugins: [{ name: rate-limiting, config: { second: 2, hour: 500, year: 9999 } }]
`;
    const { policy, warnings } = importKong(deck, 'deck.yaml');
    assert.equal(policy.apis[0]!.upstream, 'http://orders.internal:8080');
    assert.equal(policy.apis[0]!.routes[0]!.path, '/orders/**');
    assert.deepEqual(
      policy.tiers[0]!.limits.map((l) => `${l.requests}/${l.per}`),
      ['2/second', '500/hour'],
    );
    assert.deepEqual(policy.consumers[0], { ...policy.consumers[0]!, name: 'alice', tier: 'team' });
    assert.deepEqual(
      warnings.map((w) => w.path),
      [
        'services[0].plugins[1]',
        'services[0].routes[0].plugins[0]',
        'consumers[0].plugins.config.year',
      ],
    );
  });

  it('refuses input that is not a decK file, saying where', () => {
    assert.throws(
      () => importKong('services: 3', 'bad.yaml'),
      (error: Error) => {
        assert.ok(error instanceof ImportError);
        assert.match(error.message, /^bad\.yaml: expected a decK file/);
        return true;
      },
    );
    assert.throws(() => importKong('{ nope', 'broken.yaml'), /broken\.yaml: not YAML or JSON/);
  });
});

describe('openapi export then import', () => {
  it('gives back the API, its routes and the tiers', () => {
    const policy = examplePolicy();
    const { files } = exportPolicy(policy, 'openapi');
    const imported = importOpenApi(files[0]!.content, files[0]!.name).policy;

    const keep = essentials(policy);
    assert.deepEqual(essentials(imported), { ...keep, consumers: [] });
    assert.deepEqual(imported.apis[0]!.routes, policy.apis[0]!.routes);
    assert.deepEqual(imported.tiers, policy.tiers);
  });

  it('keeps "**" paths through x-tollgate-path although OpenAPI documents one segment', () => {
    const { files } = exportPolicy(lossy, 'openapi');
    const imported = importOpenApi(files[0]!.content).policy;
    assert.deepEqual(
      imported.apis[0]!.routes.map((r) => r.path),
      lossy.apis[0]!.routes.map((r) => r.path),
    );
  });

  it('writes one document per API, each importable alone (tiers narrowed to its routes)', () => {
    const { files } = exportPolicy(lossy, 'openapi');
    assert.deepEqual(
      files.map((f) => f.name),
      ['openapi/shop.yaml', 'openapi/certs.yaml'],
    );
    const certs = importOpenApi(files[1]!.content, files[1]!.name).policy;
    assert.deepEqual(
      certs.tiers.map((t) => [t.name, [...(resolveRouteRefs(certs, t.routes) ?? [])]]),
      [
        ['basic', []],
        ['gold', ['certs.read']],
        ['trial', ['certs.read']],
      ],
    );
    // gold's limit counting only shop.order has no place in the certs document.
    assert.equal(certs.tiers[1]!.limits.length, lossy.tiers[1]!.limits.length - 1);
  });

  it('imports a plain OpenAPI document: servers, apiKey schemes, operations', () => {
    const doc = {
      openapi: '3.1.0',
      info: { title: 'Pet Store', version: '1' },
      servers: [{ url: 'https://pets.example.test/v1' }],
      components: { securitySchemes: { key: { type: 'apiKey', in: 'header', name: 'X-Key' } } },
      paths: {
        '/pets': { get: { operationId: 'listPets' }, post: { operationId: 'addPet' } },
        '/pets/{id}': { get: { operationId: 'getPet' } },
      },
    };
    const { policy } = importOpenApi(JSON.stringify(doc), 'pets.json');
    const api = policy.apis[0]!;
    assert.equal(api.name, 'Pet-Store');
    assert.deepEqual(api.hosts, ['pets.example.test']);
    assert.deepEqual(api.auth, [{ type: 'apiKey', header: 'x-key' }]);
    assert.deepEqual(
      api.routes.map((r) => `${r.name} ${r.methods.join(',')} ${r.path}`),
      ['listPets GET /pets', 'addPet POST /pets', 'getPet GET /pets/*'],
    );
  });

  it('refuses a document that is not OpenAPI 3', () => {
    assert.throws(
      () => importOpenApi('swagger: "2.0"', 'old.yaml'),
      /old\.yaml: expected an OpenAPI 3/,
    );
  });
});
