import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { parsePolicy } from '../proxy-core/policies/index.ts';

/** The first two shell blocks of the README: install-and-start, install-and-test. */
async function readmeCommands(): Promise<string[]> {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
  return blocks.slice(0, 2);
}

describe('README', () => {
  it('starts with an install-and-start command for the headless proxy', async () => {
    const [start] = await readmeCommands();
    assert.match(start!, /npm ci/);
    assert.match(start!, /\.\/bin\/tollgate serve/);
  });

  it('gives the test command that .ci/run runs, verbatim', async () => {
    const [, testCommand] = await readmeCommands();
    const ci = await readFile(new URL('../.ci/run', import.meta.url), 'utf8');
    const ciLines = ci.split('\n').map((line) => line.trim());
    assert.ok(ciLines.includes(testCommand!), `.ci/run does not run: ${testCommand}`);
  });

  it('shows a policy example that Tollgate accepts as it is', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(example, 'the README has a YAML policy example');

    const result = parsePolicy(example, 'README.md');
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(
      result.policy.tiers.map((tier) => tier.name),
      ['free', 'pro'],
    );
  });
});
