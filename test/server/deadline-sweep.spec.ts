import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { DeadlineSweep } from '../../proxy-core/server/deadline-sweep.ts';
import { until } from '../support/until.ts';

interface Item {
  name: string;
}

/** A sweep that records what expired, in order. */
function sweepOf(ms: number) {
  const expired: string[] = [];
  const sweep = new DeadlineSweep<Item>(ms, (item) => expired.push(item.name));
  return { sweep, expired };
}

const items = (count: number, prefix = 'item') =>
  Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i}` }));

describe('deadline sweep', () => {
  it('expires waiting items in the order they started, and never a settled one', async () => {
    const { sweep, expired } = sweepOf(60);
    const [a, b, c, d] = items(4);
    for (const item of [a!, b!, c!, d!]) sweep.watch(item);
    sweep.settle(b!);
    sweep.settle(d!);
    assert.equal(sweep.size, 2);

    await until(
      () => expired.length === 2,
      () => `expired: ${expired.join(', ')}`,
    );
    await sleep(100);
    assert.deepEqual(expired, ['item-0', 'item-2']);
    assert.equal(sweep.size, 0);
  });

  it('does not expire an item before its time', async () => {
    const { sweep, expired } = sweepOf(300);
    const started = Date.now();
    sweep.watch({ name: 'slow' });

    await until(() => expired.length === 1);
    assert.ok(Date.now() - started >= 300, `expired after ${Date.now() - started} ms`);
  });

  it('restarts the clock of an item watched again', async () => {
    const { sweep, expired } = sweepOf(200);
    const [kept, restarted] = items(2);
    sweep.watch(restarted!);
    sweep.watch(kept!);
    await sleep(120);
    sweep.watch(restarted!);
    assert.equal(sweep.size, 2);

    await until(() => expired.length === 1);
    assert.deepEqual(expired, ['item-0']);
    await until(() => expired.length === 2);
    assert.deepEqual(expired, ['item-0', 'item-1']);
  });

  it('keeps order and every deadline while items come and go by the thousand', async () => {
    const { sweep, expired } = sweepOf(150);
    // Most settle soon after they start, as requests do; every tenth is left waiting. The
    // queue fills with holes many times over, so it is compacted (and grows) meanwhile.
    const all = items(20_000);
    const stays = (i: number) => i % 10 === 0;
    for (const [i, item] of all.entries()) {
      sweep.watch(item);
      if (i >= 5 && !stays(i - 5)) sweep.settle(all[i - 5]!);
    }
    for (const item of all.slice(-5)) if (!stays(all.indexOf(item))) sweep.settle(item);
    const left = all.filter((_, i) => stays(i)).map((item) => item.name);
    assert.equal(sweep.size, left.length);

    await until(
      () => expired.length === left.length,
      () => `${expired.length} expired`,
    );
    assert.deepEqual(expired, left);
  });

  it('lets an item wait in two sweeps and settle in each on its own', async () => {
    const first = sweepOf(60);
    const second = sweepOf(60);
    const shared = { name: 'shared' };
    first.sweep.watch(shared);
    second.sweep.watch(shared);
    first.sweep.settle(shared);

    await until(() => second.expired.length === 1);
    await sleep(100);
    assert.deepEqual(first.expired, []);
    assert.deepEqual(second.expired, ['shared']);
  });

  it('lets an expiry watch and settle items', async () => {
    const later = { name: 'later' };
    const spared = { name: 'spared' };
    const expired: string[] = [];
    const sweep = new DeadlineSweep<Item>(60, (item) => {
      expired.push(item.name);
      if (item.name === 'first') {
        sweep.settle(spared);
        sweep.watch(later);
      }
    });
    sweep.watch({ name: 'first' });
    sweep.watch(spared);

    await until(
      () => expired.length === 2,
      () => `expired: ${expired.join(', ')}`,
    );
    assert.deepEqual(expired, ['first', 'later']);
  });

  it('expires nothing once stopped', async () => {
    const { sweep, expired } = sweepOf(40);
    for (const item of items(100)) sweep.watch(item);
    sweep.stop();
    assert.equal(sweep.size, 0);

    await sleep(150);
    assert.deepEqual(expired, []);
  });
});
