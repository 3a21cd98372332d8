/**
 * Checks the schema cannot express: references between parts of the document, unique names,
 * overlapping hosts, keys that match two consumers, and values only Node can judge (PEM keys,
 * regular expressions). Each problem carries the path of the value at fault.
 */

import { createPublicKey } from 'node:crypto';
import { pathPatternProblem } from './path-pattern.ts';
import { hostsOverlap, resolveRouteRef } from './references.ts';
import type { Policy } from './schema.ts';

export type DocPath = (string | number)[];

export interface SemanticProblem {
  path: DocPath;
  message: string;
}

export function checkSemantics(policy: Policy): SemanticProblem[] {
  const problems: SemanticProblem[] = [];
  const report = (path: DocPath, message: string) => problems.push({ path, message });

  checkUniqueNames(policy.apis, ['apis'], 'API', report);
  checkUniqueNames(policy.tiers, ['tiers'], 'tier', report);
  checkUniqueNames(policy.consumers, ['consumers'], 'consumer', report);
  checkUniqueNames(policy.rules, ['rules'], 'rule', report);

  checkApis(policy, report);
  checkTiers(policy, report);
  checkConsumers(policy, report);
  checkRules(policy, report);

  for (const [f, fault] of policy.faults.entries()) {
    checkTierRefs(policy, fault.tiers, ['faults', f, 'tiers'], report);
    checkRouteRefs(policy, fault.routes, ['faults', f, 'routes'], report);
  }
  return problems;
}

type Report = (path: DocPath, message: string) => void;

function checkUniqueNames(
  items: readonly { name?: string | undefined }[],
  at: DocPath,
  what: string,
  report: Report,
) {
  const seen = new Map<string, number>();
  for (const [index, item] of items.entries()) {
    if (item.name === undefined) continue;
    const first = seen.get(item.name);
    if (first !== undefined) {
      report(
        [...at, index, 'name'],
        `duplicate ${what} name "${item.name}" (first at index ${first})`,
      );
    } else {
      seen.set(item.name, index);
    }
  }
}

function checkApis(policy: Policy, report: Report) {
  const hosts: { host: string; api: string }[] = [];

  for (const [a, api] of policy.apis.entries()) {
    checkUniqueNames(api.routes, ['apis', a, 'routes'], 'route', report);

    for (const [h, host] of api.hosts.entries()) {
      const clash = hosts.find((other) => hostsOverlap(other.host, host));
      if (clash) {
        const owner = clash.api === api.name ? 'this API' : `API "${clash.api}"`;
        report(['apis', a, 'hosts', h], `host "${host}" overlaps "${clash.host}" of ${owner}`);
      }
      hosts.push({ host, api: api.name });
    }

    for (const [r, route] of api.routes.entries()) {
      const problem = pathPatternProblem(route.path);
      if (problem) report(['apis', a, 'routes', r, 'path'], problem);
    }

    if (api.anonymousTier !== undefined) {
      checkTierRefs(policy, [api.anonymousTier], ['apis', a, 'anonymousTier'], report, true);
    }
    if (api.auth.length === 0 && api.anonymousTier === undefined) {
      report(['apis', a, 'auth'], 'an API needs at least one auth method or an anonymousTier');
    }

    for (const [m, method] of api.auth.entries()) {
      if (method.type !== 'jwt') continue;
      const at = ['apis', a, 'auth', m];
      const symmetric = method.secret !== undefined;
      for (const alg of method.algorithms ?? []) {
        if (alg.startsWith('HS') !== symmetric) {
          report(
            [...at, 'algorithms'],
            `${alg} does not fit a ${symmetric ? 'secret' : 'public key'}`,
          );
        }
      }
      if (method.publicKey !== undefined && !isPublicKey(method.publicKey)) {
        report([...at, 'publicKey'], 'expected a PEM public key (-----BEGIN PUBLIC KEY-----)');
      }
    }
  }
}

function checkTiers(policy: Policy, report: Report) {
  for (const [t, tier] of policy.tiers.entries()) {
    checkRouteRefs(policy, tier.routes, ['tiers', t, 'routes'], report);

    const names = new Map<string, number>();
    for (const [l, limit] of tier.limits.entries()) {
      checkRouteRefs(policy, limit.routes, ['tiers', t, 'limits', l, 'routes'], report);

      const name = limit.name ?? `${tier.name}-${limit.per}`;
      const first = names.get(name);
      if (first !== undefined) {
        const hint = limit.name === undefined ? '; give one of them a name' : '';
        report(
          ['tiers', t, 'limits', l],
          `duplicate limit name "${name}" (first at index ${first})${hint}`,
        );
      }
      names.set(name, l);
    }
  }
}

function checkConsumers(policy: Policy, report: Report) {
  const keys = new Map<string, string>();
  const certificates = new Map<string, string>();

  for (const [c, consumer] of policy.consumers.entries()) {
    checkTierRefs(policy, [consumer.tier], ['consumers', c, 'tier'], report, true);

    // Never echo the key itself: check output ends up in terminals and CI logs.
    for (const [k, key] of consumer.keys.entries()) {
      const owner = keys.get(key);
      if (owner !== undefined) {
        report(['consumers', c, 'keys', k], `this key is already given to consumer "${owner}"`);
      }
      keys.set(key, consumer.name);
    }
    for (const [k, certificate] of consumer.certificates.entries()) {
      const id = certificate.toUpperCase();
      const owner = certificates.get(id);
      if (owner !== undefined) {
        report(['consumers', c, 'certificates', k], `certificate already given to "${owner}"`);
      }
      certificates.set(id, consumer.name);
    }
  }
}

function checkRules(policy: Policy, report: Report) {
  for (const [r, rule] of policy.rules.entries()) {
    checkRouteRefs(policy, rule.routes, ['rules', r, 'routes'], report);
    for (const [w, condition] of rule.when.entries()) {
      if (condition.matches === undefined) continue;
      try {
        new RegExp(condition.matches);
      } catch (error) {
        report(
          ['rules', r, 'when', w, 'matches'],
          `invalid regular expression: ${(error as Error).message}`,
        );
      }
    }
  }
}

function checkRouteRefs(
  policy: Policy,
  refs: readonly string[] | undefined,
  at: DocPath,
  report: Report,
) {
  for (const [index, ref] of (refs ?? []).entries()) {
    if (ref === '*') continue;
    if (resolveRouteRef(policy, ref).length === 0) {
      report([...at, index], `unknown route "${ref}" (no API defines it)`);
    }
  }
}

function checkTierRefs(
  policy: Policy,
  refs: readonly string[] | undefined,
  at: DocPath,
  report: Report,
  single = false,
) {
  for (const [index, ref] of (refs ?? []).entries()) {
    if (policy.tiers.some((tier) => tier.name === ref)) continue;
    const known = policy.tiers.map((tier) => tier.name).join(', ') || 'none defined';
    report(single ? at : [...at, index], `unknown tier "${ref}" (tiers: ${known})`);
  }
}

function isPublicKey(pem: string): boolean {
  try {
    return createPublicKey(pem).type === 'public';
  } catch {
    return false;
  }
}
