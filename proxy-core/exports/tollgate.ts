/**
 * The canonical policy as YAML: every default written out, so the file parses back to exactly
 * the policy it came from. Without `includeKeys`, consumer keys are left out and JWT shared
 * secrets are replaced by a placeholder the user must fill.
 */

import YAML from 'yaml';
import type { Policy } from '../policies/schema.ts';
import { warnKeysIncluded } from './model.ts';
import { WarningList, type ExportOptions, type ExportResult } from './types.ts';

export const JWT_SECRET_PLACEHOLDER = 'REPLACE-WITH-THE-JWT-SHARED-SECRET';

export function exportTollgate(policy: Policy, options: ExportOptions = {}): ExportResult {
  const warnings = new WarningList('tollgate');
  let document: Policy = policy;

  if (options.includeKeys) {
    warnKeysIncluded(policy, warnings);
  } else {
    document = {
      ...policy,
      apis: policy.apis.map((api) => ({
        ...api,
        auth: api.auth.map((method) =>
          method.type === 'jwt' && method.secret !== undefined
            ? { ...method, secret: JWT_SECRET_PLACEHOLDER }
            : method,
        ),
      })),
      consumers: policy.consumers.map((consumer) => ({ ...consumer, keys: [] })),
    };
  }

  const content = YAML.stringify(document, { lineWidth: 0, aliasDuplicateObjects: false });
  return { files: [{ name: 'tollgate.yaml', content }], warnings: warnings.items };
}
