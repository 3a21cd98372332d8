/**
 * ns per limit check (check + commit of one counter), per algorithm, and ns per whole
 * `PolicyEngine.decide` on the example policy (key lookup, route match, two limits, headers).
 * Prints a line per figure, then one JSON line (`nsPerCheck` is the slowest algorithm) that
 * `bench/enforcement-section.ts` reads.
 */

import { readFileSync } from 'node:fs';
import { ManualTime } from '../proxy-core/policies/clock.ts';
import { PolicyEngine } from '../proxy-core/policies/engine.ts';
import {
  Counter,
  limiterFor,
  newOutcome,
  PERIOD_MS,
  type LimitParams,
} from '../proxy-core/policies/limiters/index.ts';
import { parsePolicy } from '../proxy-core/policies/load.ts';
import { ALGORITHMS, type Algorithm } from '../proxy-core/policies/schema.ts';
import type { ExchangeRequest } from '../proxy-core/server/exchange.ts';

const CHECKS = 2_000_000;
const DECIDES = 200_000;

function nsPerCheck(algorithm: Algorithm): number {
  const limiter = limiterFor(algorithm);
  const per = algorithm === 'calendar' ? 'day' : 'minute';
  const params: LimitParams = {
    limit: 1_000_000_000,
    periodMs: PERIOD_MS[per],
    burst: 0,
    per,
    timeZone: 'Europe/Paris',
  };
  const counter = new Counter();
  const outcome = newOutcome();
  let now = Date.UTC(2026, 0, 1);
  let admitted = 0;

  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      now += 0.01;
      limiter.check(counter, now, 1, params, outcome);
      if (outcome.allowed) {
        limiter.commit(counter, now, 1, params);
        admitted++;
      }
    }
  };
  run(CHECKS / 10); // warm up the JIT

  const started = process.hrtime.bigint();
  run(CHECKS);
  const elapsed = Number(process.hrtime.bigint() - started);
  if (admitted === 0) throw new Error(`${algorithm}: nothing admitted, the bench is wrong`);
  return elapsed / CHECKS;
}

function nsPerDecide(): number {
  const text = readFileSync(
    new URL('../test/fixtures/policies/example.yaml', import.meta.url),
    'utf8',
  );
  const parsed = parsePolicy(text);
  if (!parsed.ok) throw new Error('example policy invalid');
  const policy = parsed.policy;
  policy.tiers[1]!.limits[0]!.requests = 1_000_000_000;
  policy.tiers[1]!.limits[1]!.requests = 1_000_000_000;
  const time = new ManualTime();
  const engine = new PolicyEngine({ policy, time });
  const request: ExchangeRequest = {
    id: '1',
    startedAt: 0,
    clientAddress: '127.0.0.1',
    scheme: 'https',
    method: 'GET',
    host: 'api.weather.test',
    port: 443,
    path: '/v1/forecast/paris?units=metric',
    headers: { 'x-api-key': 'pro-key-456', accept: 'application/json' },
    rawHeaders: ['X-Api-Key', 'pro-key-456', 'Accept', 'application/json'],
  };

  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      time.tick(0.001);
      const verdict = engine.decide(request);
      if (verdict instanceof Promise || verdict.kind !== 'forward') throw new Error('refused');
    }
  };
  run(DECIDES / 10);
  const started = process.hrtime.bigint();
  run(DECIDES);
  const elapsed = Number(process.hrtime.bigint() - started);
  engine.close();
  return elapsed / DECIDES;
}

const figures: Record<string, number> = {};
for (const algorithm of ALGORITHMS) {
  figures[algorithm] = nsPerCheck(algorithm);
  console.log(`${algorithm.padEnd(16)} ${figures[algorithm]!.toFixed(1)} ns per check`);
}
const decide = nsPerDecide();
console.log(`${'decide (example)'.padEnd(16)} ${decide.toFixed(0)} ns per request`);

const worst = Math.max(...Object.values(figures));
console.log(
  JSON.stringify({
    nsPerCheck: Number(worst.toFixed(1)),
    nsPerDecide: Math.round(decide),
    perAlgorithm: figures,
  }),
);
