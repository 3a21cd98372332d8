/**
 * Fault injection for testing client retry logic: added latency and a share of 429/500/503
 * answers, per tier or route. Every matching fault adds its latency; the first whose dice roll
 * lands on an error answers with it. Faults apply after the request was admitted and counted,
 * as a real upstream failing would.
 */

import type { CompiledFault, CompiledPolicy } from './compile.ts';

export interface FaultPlan {
  delayMs: number;
  status: 429 | 500 | 503 | undefined;
  fault: string | undefined;
}

const NO_FAULT: FaultPlan = Object.freeze({ delayMs: 0, status: undefined, fault: undefined });

export function planFaults(
  compiled: CompiledPolicy,
  tier: string,
  routeKey: string,
  random: () => number,
): FaultPlan {
  if (compiled.faults.length === 0) return NO_FAULT;

  let delayMs = 0;
  let status: FaultPlan['status'];
  let fault: string | undefined;

  for (const [index, compiledFault] of compiled.faults.entries()) {
    if (!applies(compiledFault, tier, routeKey)) continue;
    const def = compiledFault.def;
    delayMs += def.latencyMs + (def.jitterMs > 0 ? Math.floor(random() * def.jitterMs) : 0);
    if (status !== undefined || def.errors.length === 0) continue;

    const roll = random();
    let threshold = 0;
    for (const error of def.errors) {
      threshold += error.share;
      if (roll < threshold) {
        status = error.status;
        fault = def.name ?? `faults[${index}]`;
        break;
      }
    }
  }
  return delayMs === 0 && status === undefined ? NO_FAULT : { delayMs, status, fault };
}

function applies(fault: CompiledFault, tier: string, routeKey: string): boolean {
  if (fault.tiers !== null && !fault.tiers.has(tier)) return false;
  if (fault.routes !== null && !fault.routes.has(routeKey)) return false;
  return true;
}
