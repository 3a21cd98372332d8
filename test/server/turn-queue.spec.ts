import assert from 'node:assert/strict';
import { readFile } from 'node:fs';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { TurnQueue } from '../../proxy-core/server/turn-queue.ts';

describe('turn queue', () => {
  it('runs what one turn queued after that turn, in order, as one batch', async () => {
    const ran: string[] = [];
    const queue = new TurnQueue<string>((batch) => ran.push(...batch), 'exchanges');

    queue.push('a');
    queue.push('b');
    process.nextTick(() => ran.push('tick'));
    assert.deepEqual(ran, [], 'nothing runs while the turn that queued it goes on');

    await nextTurn();
    assert.deepEqual(ran, ['tick', 'a', 'b']);
  });

  it('waits for the I/O callbacks of the turn before running', async () => {
    const ran: string[] = [];
    const queue = new TurnQueue<string>((batch) => ran.push(...batch), 'exchanges');

    // Queued from inside an I/O callback, as the proxy queues from a socket's data.
    await new Promise<void>((resolve) => {
      readFile(import.meta.filename, () => {
        queue.push('queued in I/O');
        ran.push('rest of the I/O callback');
        resolve();
      });
    });
    await nextTurn();
    assert.deepEqual(ran, ['rest of the I/O callback', 'queued in I/O']);
  });

  it('leaves what a batch queues for the next turn', async () => {
    const batches: string[][] = [];
    const queue = new TurnQueue<string>((batch) => {
      batches.push([...batch]);
      if (batch.includes('first')) queue.push('queued while running');
    }, 'exchanges');

    queue.push('first');
    queue.push('second');
    await nextTurn();
    assert.deepEqual(batches, [['first', 'second']]);
    await nextTurn();

    assert.deepEqual(batches, [['first', 'second'], ['queued while running']]);
  });

  it('records after exchanges, also when queued first or while the exchanges run', async () => {
    const ran: string[] = [];
    const records = new TurnQueue<string>((batch) => ran.push(...batch), 'records');
    const exchanges = new TurnQueue<string>((batch) => {
      for (const item of batch) {
        ran.push(item);
        records.push(`record of ${item}`);
      }
    }, 'exchanges');

    records.push('record queued first');
    exchanges.push('response');
    await nextTurn();

    assert.deepEqual(ran, ['response', 'record queued first', 'record of response']);
  });

  it('runs nothing twice when a reader flushed early', async () => {
    const ran: string[] = [];
    const queue = new TurnQueue<string>((batch) => ran.push(...batch), 'records');

    queue.push('read early');
    queue.flush();
    queue.push('after the read');
    await nextTurn();

    assert.deepEqual(ran, ['read early', 'after the read']);
  });
});
