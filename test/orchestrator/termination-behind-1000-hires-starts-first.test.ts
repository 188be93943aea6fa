import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { QUEUES, startQueue } from '../../src/orchestrator/queue.js';
import { createTestDatabase } from '../helpers/database.js';

/**
 * Leavers outrank everything (ARCHITECTURE.md → rules of the road). With 1,000 joiner operations
 * queued ahead of it, a leaver's operation is the first one the workers take: by priority, and
 * because a worker is reserved for leavers alone. Uses the queue exactly as serve configures it.
 */
describe('a termination enqueued behind 1,000 hires', () => {
  let boss: PgBoss;
  beforeAll(async () => {
    const database = await createTestDatabase();
    boss = await startQueue(database.url, createLogger('silent'), { schedule: false });
  });
  afterAll(() => boss?.stop({ graceful: false }));

  it('starts first', async () => {
    await boss.insert(QUEUES.operation.name, Array.from({ length: 1000 }, (_, i) => ({ data: { operationId: i, kind: 'joiner' }, priority: 60 })));
    await boss.send(QUEUES.operation.name, { operationId: 99_999, kind: 'leaver' }, { priority: 100 });
    const started: string[] = [];
    let resolveWave: () => void;
    const firstWave = new Promise<void>((r) => {
      resolveWave = r;
    });
    // The first jobs start together (the leavers' worker and a general one), in no fixed order
    // among themselves: the leaver must be in that first wave, ahead of the 1,000 hires.
    const SLOTS = 2;
    const handler = async (jobs: { data: { kind: string } }[]) => {
      for (const job of jobs) started.push(job.data.kind);
      if (started.length >= SLOTS) resolveWave();
      await new Promise((r) => setTimeout(r, 200));
    };
    // The same two workers serve starts: general (by priority) and leavers-only.
    await boss.work(QUEUES.operation.name, { localConcurrency: 2, priority: true, pollingIntervalSeconds: 1 }, handler);
    await boss.work(QUEUES.operation.name, { localConcurrency: 1, priority: true, minPriority: 100, pollingIntervalSeconds: 1 }, handler);
    await firstWave;
    expect(started.slice(0, SLOTS)).toContain('leaver');
  });
});
