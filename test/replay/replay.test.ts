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
import { bundleWorkflows, testDataConverter } from '../harness/temporal';

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
