import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { PolicyError } from '../../proxy-core/policies/load.ts';
import type { Policy } from '../../proxy-core/policies/schema.ts';
import { watchPolicyFile } from '../../proxy-core/policies/watch.ts';
import { tempDir } from '../support/temp-dir.ts';
import { fixtureText } from './helpers.ts';

/** Resolves with the next value pushed, or rejects after `ms`. */
function nextOf<T>(queue: T[], ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (queue.length > 0) return resolve(queue.shift()!);
      if (Date.now() > deadline) return reject(new Error('nothing arrived in time'));
      setTimeout(poll, 20);
    };
    poll();
  });
}

describe('watching the policy file', () => {
  it('applies valid changes, reports invalid ones, and follows rename-over saves', async () => {
    const { dir, remove } = await tempDir();
    const file = path.join(dir, 'policy.yaml');
    const example = fixtureText('example.yaml');
    await writeFile(file, example);

    const policies: Policy[] = [];
    const failures: PolicyError[][] = [];
    const watch = await watchPolicyFile(file, {
      onPolicy: (p) => policies.push(p),
      onErrors: (e) => failures.push(e),
      debounceMs: 50,
    });
    try {
      await writeFile(
        file,
        example.replace('requests: 5, per: minute', 'requests: 7, per: minute'),
      );
      assert.equal((await nextOf(policies)).tiers[0]!.limits[0]!.requests, 7);

      await writeFile(file, example.replace('per: minute }', 'per: fortnight }'));
      const errors = await nextOf(failures);
      assert.equal(errors[0]!.path, 'tiers[0].limits[0].per');

      // An editor's save: write a temp file, rename it over the policy.
      await writeFile(
        path.join(dir, '.policy.yaml.tmp'),
        example.replace('requests: 100, per: day', 'requests: 9, per: day'),
      );
      await rename(path.join(dir, '.policy.yaml.tmp'), file);
      assert.equal((await nextOf(policies)).tiers[0]!.limits[1]!.requests, 9);
    } finally {
      watch.close();
      await remove();
    }
  });
});
