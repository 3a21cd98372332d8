import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ManualTime } from '../../proxy-core/policies/clock.ts';
import { PolicyEngine, type PolicyEngineOptions } from '../../proxy-core/policies/engine.ts';
import { parsePolicy } from '../../proxy-core/policies/load.ts';
import type { Policy } from '../../proxy-core/policies/schema.ts';
import type { ExchangeRequest, Verdict } from '../../proxy-core/server/exchange.ts';
import { headerRecord } from '../../proxy-core/server/header-list.ts';
import { exchangeRequest } from '../support/exchange-request.ts';

export const FIXTURES = fileURLToPath(new URL('../fixtures/policies/', import.meta.url));

export function fixtureText(name: string): string {
  return readFileSync(FIXTURES + name, 'utf8');
}

/** Parses policy text and fails loudly with its errors, so a broken fixture is obvious. */
export function policyFrom(text: string): Policy {
  const result = parsePolicy(text);
  if (!result.ok) throw new Error('fixture policy invalid: ' + JSON.stringify(result.errors));
  return result.policy;
}

export function examplePolicy(): Policy {
  return policyFrom(fixtureText('example.yaml'));
}

export function engineWith(policy: Policy, options: Partial<PolicyEngineOptions> = {}) {
  const time = new ManualTime();
  const engine = new PolicyEngine({ policy, time, ...options });
  return { engine, time };
}

export const request = exchangeRequest;

export function withKey(key: string, overrides: Partial<ExchangeRequest> = {}): ExchangeRequest {
  return request({ ...overrides, headers: { 'x-api-key': key, ...overrides.headers } });
}

/** The status a verdict stands for: a forward counts as the upstream's 200. */
export function statusOf(verdict: Verdict): number {
  return verdict.kind === 'forward' ? 200 : verdict.status;
}

export function headersOf(verdict: Verdict): Readonly<Record<string, string>> {
  if (verdict.kind === 'respond') return verdict.headers;
  return headerRecord(verdict.setResponseHeaders ?? []);
}

export async function decide(engine: PolicyEngine, req: ExchangeRequest): Promise<Verdict> {
  return engine.decide(req);
}
