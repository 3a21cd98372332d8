import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { parsePolicy } from '../../proxy-core/policies/load.ts';
import { policyJsonSchema } from '../../proxy-core/policies/schema.ts';
import { fixtureText } from './helpers.ts';

const BASE = `
version: 1
apis:
  - name: weather
    hosts: [api.weather.test]
    auth: [{ type: apiKey, header: x-api-key }]
    routes: [{ name: read, path: /v1/** }]
tiers: [{ name: free, routes: [read] }]
`;

/** [what, extra YAML appended to BASE (or whole text), expected path, expected message]. */
const CASES: [string, string, string, RegExp][] = [
  [
    'limit routes must exist',
    BASE.replace(
      'tiers: [{ name: free, routes: [read] }]',
      'tiers: [{ name: free, routes: [read] }, { name: pro, limits: [{ requests: 1, per: hour, routes: [nope] }] }]',
    ),
    'tiers[1].limits[0].routes[0]',
    /unknown route "nope"/,
  ],
  [
    'rule regex must compile',
    `${BASE}rules: [{ name: r, when: [{ attribute: header.x, matches: '(' }] }]`,
    'rules[0].when[0].matches',
    /invalid regular expression/,
  ],
  [
    'jwt algorithm must fit the key',
    BASE.replace(
      '{ type: apiKey, header: x-api-key }',
      '{ type: jwt, secret: s, algorithms: [RS256] }',
    ),
    'apis[0].auth[0].algorithms',
    /RS256 does not fit a secret/,
  ],
  [
    'public key must be PEM',
    BASE.replace('{ type: apiKey, header: x-api-key }', '{ type: jwt, publicKey: not-a-key }'),
    'apis[0].auth[0].publicKey',
    /PEM public key/,
  ],
  [
    'path segments are whole wildcards',
    BASE.replace('/v1/**', '/v1/a*b'),
    'apis[0].routes[0].path',
    /mixes "\*"/,
  ],
  [
    'an API needs a way in',
    BASE.replace('auth: [{ type: apiKey, header: x-api-key }]', 'auth: []'),
    'apis[0].auth',
    /auth method or an anonymousTier/,
  ],
  [
    'a key belongs to one consumer',
    `${BASE}consumers: [{ name: a, tier: free, keys: [same-key-1] }, { name: b, tier: free, keys: [same-key-1] }]`,
    'consumers[1].keys[0]',
    /already given to consumer "a"/,
  ],
  ['time zones are IANA names', `${BASE}timezone: Mars/Olympus`, 'timezone', /IANA time zone/],
  ['the version is 1', BASE.replace('version: 1', 'version: 2'), 'version', /expected 1/],
  ['a document is an object', '[1, 2]', '(document)', /expected object, got array/],
  [
    'aliases cannot explode',
    'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
    '(document)',
    /alias/i,
  ],
];

describe('parsePolicy', () => {
  for (const [what, text, path, message] of CASES) {
    it(`refuses: ${what}`, () => {
      const result = parsePolicy(text);
      assert.equal(result.ok, false, 'must be refused');
      if (result.ok) return;
      const error = result.errors.find((e) => e.path === path);
      assert.ok(error, `no error at ${path}: ${JSON.stringify(result.errors)}`);
      assert.match(error.message, message);
    });
  }

  it('accepts the same policy as JSON, with the same result', () => {
    const fromYaml = parsePolicy(fixtureText('example.yaml'));
    const fromJson = parsePolicy(JSON.stringify(parse(fixtureText('example.yaml'))));
    assert.ok(fromYaml.ok && fromJson.ok);
    assert.deepEqual(fromJson.policy, fromYaml.policy);
  });

  it('publishes a JSON Schema that accepts the example and refuses a wrong period', () => {
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(policyJsonSchema());
    const example = parse(fixtureText('example.yaml'));
    assert.equal(validate(example), true, JSON.stringify(validate.errors));

    example.tiers[1].limits[0].per = 'fortnight';
    assert.equal(validate(example), false);
    assert.equal(validate.errors?.[0]?.instancePath, '/tiers/1/limits/0/per');
  });
});
