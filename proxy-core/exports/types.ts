/**
 * The shapes every exporter shares: what a caller asks for and what comes back.
 *
 * An export never throws on a policy that parsed: what a target cannot express becomes an
 * `ExportWarning` naming the part of the policy (`tiers[1].limits[0]`), why the target falls
 * short, and what was written instead. `--strict` turns any warning into a failed export.
 */

export const EXPORT_FORMATS = [
  'kong',
  'tyk',
  'envoy',
  'nginx',
  'aws',
  'openapi',
  'tollgate',
] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions {
  /**
   * Write consumer keys and JWT shared secrets into the output (a warning says so).
   * @default false
   */
  includeKeys?: boolean;
  /**
   * Kong edition: `oss` uses rate-limiting per consumer; `enterprise` uses consumer groups
   * with rate-limiting-advanced.
   * @default 'oss'
   */
  kongEdition?: 'oss' | 'enterprise';
}

export interface ExportWarning {
  /** Stable code, `<format>.<what>` (`nginx.quota-not-expressible`). */
  code: string;
  /** Where in the policy the untranslatable part sits (`tiers[0].limits[1]`). */
  path: string;
  message: string;
}

export interface ExportFile {
  /** Relative path, `/`-separated (`tyk/policies.json`). */
  name: string;
  content: string;
}

export interface ExportResult {
  files: ExportFile[];
  warnings: ExportWarning[];
}

/** Collects warnings for one export, so exporters can report where they stand. */
export class WarningList {
  readonly items: ExportWarning[] = [];

  constructor(private readonly format: ExportFormat) {}

  /** The same warning found twice (once per API, say) is reported once. */
  add(code: string, path: string, message: string): void {
    const warning = { code: `${this.format}.${code}`, path, message };
    const seen = this.items.some(
      (w) => w.code === warning.code && w.path === path && w.message === message,
    );
    if (!seen) this.items.push(warning);
  }
}
