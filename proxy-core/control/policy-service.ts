/**
 * Changing the policy through the control API: validate, enforce, store, remember.
 *
 * Guarantees: a document that does not validate changes nothing (the engine keeps enforcing
 * the old policy and the store keeps the old document); a valid one reaches the engine before
 * it is stored, so the stored policy is never one the engine refused. Every change, from any
 * source, gets a history revision with time, source and a summary, and any revision can be
 * restored in one call.
 */

import { parse as parseYaml } from 'yaml';
import { parsePolicy as defaultParsePolicy } from '../policies/load.ts';
import type { Policy } from '../policies/schema.ts';
import { emptyStoreData, type PolicyRevision, type StoreData } from '../store/types.ts';
import type {
  PolicyBody,
  PolicyError,
  PolicyRevisionDetail,
  PolicyRevisionSummary,
  PolicySource,
  PolicyState,
} from '../contract/control-api.ts';
import type { ControlEngine, ControlStore, ParsePolicy } from './context.ts';
import { ControlError, notFound, need } from './control-error.ts';
import { summarizePolicyChange } from './policy-diff.ts';
import { applyMergePatch } from './merge-patch.ts';

/** Older revisions are dropped beyond this, so the data file stays small. */
const MAX_REVISIONS = 200;

export interface PolicyServiceOptions {
  store?: ControlStore;
  engine?: ControlEngine;
  /** Replaces `engine.replacePolicy` when the app applies policies its own way. */
  applyPolicy?: (policy: Policy, source: PolicySource) => void | Promise<void>;
  /** Told of every policy now in force (the request log's masking follows it). */
  onApplied?: (policy: Policy) => void;
  parsePolicy?: ParsePolicy;
}

export type PolicyCheck =
  { ok: true; policy: Policy; document: unknown } | { ok: false; errors: PolicyError[] };

export class PolicyService {
  readonly #options: PolicyServiceOptions;
  readonly #parse: ParsePolicy;
  /** Stands in for the store's policy slices when there is no store. */
  readonly #memory: StoreData = emptyStoreData();
  #parsed: Policy | null = null;

  constructor(options: PolicyServiceOptions = {}) {
    this.#options = options;
    this.#parse = options.parsePolicy ?? defaultParsePolicy;
  }

  current(): PolicyState {
    const data = this.#data();
    return { policy: data.policy, revision: data.policyHistory.at(-1)?.id ?? null };
  }

  /** The policy in force, parsed (with its defaults); null before any policy. */
  parsed(): Policy | null {
    if (this.#parsed) return this.#parsed;

    const document = this.#data().policy;
    if (document === null) return null;
    const result = this.#parse(JSON.stringify(document), 'stored policy');
    this.#parsed = result.ok ? result.policy : null;
    return this.#parsed;
  }

  check(body: PolicyBody): PolicyCheck {
    if (body.text === undefined && body.policy === undefined) {
      return {
        ok: false,
        errors: [
          { path: '(body)', message: 'send policy (a JSON document) or text (YAML or JSON)' },
        ],
      };
    }

    const text = body.text ?? JSON.stringify(body.policy, null, 2);
    const result = this.#parse(text, 'control API');
    if (!result.ok) return result;
    return { ok: true, policy: result.policy, document: body.policy ?? parseYaml(text) };
  }

  /** Validates and puts a document in force; 400 with the errors when it is invalid. */
  async replace(body: PolicyBody, source: PolicySource, summary?: string): Promise<PolicyState> {
    const checked = this.check(body);
    if (!checked.ok) {
      throw new ControlError({
        code: 'POLICY_INVALID',
        status: 400,
        title: 'The policy is not valid; the current one stays in force',
        errors: checked.errors,
      });
    }

    const { applyPolicy, engine } = this.#options;
    if (applyPolicy) await applyPolicy(checked.policy, source);
    else need(engine, 'the policy engine').replacePolicy(checked.policy);

    return this.record(checked.document, source, summary, checked.policy);
  }

  /** RFC 7396 merge patch of the current document. */
  async patch(patch: unknown, source: PolicySource): Promise<PolicyState> {
    const merged = applyMergePatch(this.#data().policy ?? {}, patch);
    return this.replace({ policy: merged }, source);
  }

  async restore(id: number): Promise<PolicyState> {
    const revision = this.#revision(id);
    const previous = this.#data().policy;
    const what = summarizePolicyChange(previous, revision.policy);
    return this.replace({ policy: revision.policy }, 'restore', `restored revision ${id}: ${what}`);
  }

  /**
   * Stores a document already in force and adds it to the history; the app calls this for the
   * policy it starts with and for edits of the policy file.
   */
  record(document: unknown, source: PolicySource, summary?: string, parsed?: Policy): PolicyState {
    // Restarting with the same file is not a change; the history only lists real ones.
    const unchanged = JSON.stringify(this.#data().policy) === JSON.stringify(document);
    if (!unchanged) this.#append(document, source, summary);

    this.#parsed = parsed ?? null;
    const inForce = this.parsed();
    if (inForce) this.#options.onApplied?.(inForce);
    return this.current();
  }

  #append(document: unknown, source: PolicySource, summary: string | undefined): void {
    this.#update((data) => {
      const last = data.policyHistory.at(-1);
      const revision: PolicyRevision = {
        id: (last?.id ?? 0) + 1,
        at: new Date().toISOString(),
        source,
        policy: document,
        summary: summary ?? summarizePolicyChange(data.policy, document),
      };
      data.policy = document;
      data.policyHistory.push(revision);
      if (data.policyHistory.length > MAX_REVISIONS) data.policyHistory.shift();
    });
  }

  /** Newest first. */
  history(): PolicyRevisionSummary[] {
    return this.#data()
      .policyHistory.map(({ id, at, source, summary }) => ({ id, at, source, summary }))
      .reverse();
  }

  revision(id: number): PolicyRevisionDetail {
    const { at, source, summary, policy } = this.#revision(id);
    return { id, at, source, summary, policy };
  }

  #revision(id: number): PolicyRevision {
    const revision = this.#data().policyHistory.find((r) => r.id === id);
    if (!revision) throw notFound(`no policy revision ${id} (the history keeps ${MAX_REVISIONS})`);
    return revision;
  }

  #data(): StoreData {
    return this.#options.store?.data ?? this.#memory;
  }

  #update(mutate: (data: StoreData) => void): void {
    if (this.#options.store) this.#options.store.update(mutate);
    else mutate(this.#memory);
  }
}
