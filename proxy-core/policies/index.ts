/** The policy engine's public surface: what the app, the control API and the CLI use. */

export { PolicyEngine, type PolicyEngineOptions, type UsageReport } from './engine.ts';
export {
  loadPolicyFile,
  parsePolicy,
  formatPath,
  type ParseResult,
  type PolicyError,
} from './load.ts';
export { watchPolicyFile, type PolicyWatch, type PolicyWatchOptions } from './watch.ts';
export { VirtualClock, ManualTime, systemTime, parseDuration, type TimeSource } from './clock.ts';
export type { UsageStore } from './counters.ts';
export {
  policySchema,
  policyJsonSchema,
  defaultAlgorithm,
  type Policy,
  type PolicyInput,
  type ApiDefinition,
  type RouteDefinition,
  type Tier,
  type LimitDefinition,
  type Consumer,
  type AuthMethod,
  type Rule,
  type Fault,
} from './schema.ts';
