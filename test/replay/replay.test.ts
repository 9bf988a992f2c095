/**
 * Replays committed histories of real runs against today's workflow code. A change that would make a running
 * workflow decide differently (a determinism break) fails here instead of in production.
 * Histories are recorded by running the workflow tests with RECORD_REPLAY_HISTORIES=1 (see README).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { bundleWorkflows, testDataConverter } from '../support/temporal';

const dir = join(__dirname, 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  bundle = await bundleWorkflows(require.resolve('../../src/workflows'));
});

it('has committed histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(5);
});

it.each(files)('replays %s without a determinism violation', async (file) => {
  const history = temporal.api.history.v1.History.fromObject(
    JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>,
  );
  await Worker.runReplayHistory(
    { workflowBundle: bundle, replayName: file, dataConverter: testDataConverter },
    history,
  );
});

it('fails with a determinism violation when the code would issue commands in another order', async () => {
  // The gate itself: a history whose first activity was a charge, replayed against code that creates the Purchase
  // first, must be refused. Without this, a broken replay setup would pass every case above.
  const raw = JSON.parse(readFileSync(join(dir, 'cycle-paid-at-once.json'), 'utf8')) as {
    events: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }[];
  };
  const scheduled = raw.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
  expect(scheduled?.activityTaskScheduledEventAttributes?.activityType?.name).toBe('createPurchase');
  scheduled!.activityTaskScheduledEventAttributes!.activityType!.name = 'chargePurchase';
  const history = temporal.api.history.v1.History.fromObject(raw);
  await expect(
    Worker.runReplayHistory(
      { workflowBundle: bundle, replayName: 'reordered', dataConverter: testDataConverter },
      history,
    ),
  ).rejects.toThrow(/[Nn]ondeterminism|[Dd]eterminism/);
});
