/**
 * Compiles one Tollgate policy into a production gateway's configuration, and reports every
 * part the target cannot express. Pure: no files are read or written here.
 */

import type { Policy } from '../policies/schema.ts';
import { exportAws } from './aws.ts';
import { exportEnvoy } from './envoy.ts';
import { exportKong } from './kong.ts';
import { exportNginx } from './nginx.ts';
import { exportOpenApi } from './openapi.ts';
import { exportTollgate } from './tollgate.ts';
import { exportTyk } from './tyk.ts';
import type { ExportFormat, ExportOptions, ExportResult } from './types.ts';

export {
  EXPORT_FORMATS,
  type ExportFile,
  type ExportFormat,
  type ExportOptions,
  type ExportResult,
  type ExportWarning,
} from './types.ts';

const EXPORTERS: Record<ExportFormat, (policy: Policy, options: ExportOptions) => ExportResult> = {
  kong: exportKong,
  tyk: exportTyk,
  envoy: exportEnvoy,
  nginx: exportNginx,
  aws: exportAws,
  openapi: exportOpenApi,
  tollgate: exportTollgate,
};

export function exportPolicy(
  policy: Policy,
  format: ExportFormat,
  options: ExportOptions = {},
): ExportResult {
  return EXPORTERS[format](policy, options);
}
