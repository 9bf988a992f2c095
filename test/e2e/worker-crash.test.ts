/**
 * Exactly once under a real crash: a worker process is SIGKILLed while its charge request is at the gateway, a new
 * worker process takes over, and the sandbox ledger shows exactly one successful charge for the period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startQorePaySandbox, type QorePaySandbox } from '../../src/sandbox/qorepay';
import { cycleStateQuery, cycleWorkflowId } from '../../src/shared/billing-cycle';
import { billingCycleWorkflow } from '../../src/workflows';
import { cycleInput, eventually } from '../support/billing-stack';
import { connectToDevServer, uniqueId } from '../support/temporal';

const ROOT = join(__dirname, '..', '..');
const API_KEY = 'crash-test-secret-key';

let env: TestWorkflowEnvironment;
let sandbox: QorePaySandbox;
const children: ChildProcess[] = [];

beforeAll(async () => {
  env = await connectToDevServer();
  sandbox = await startQorePaySandbox({ apiKey: API_KEY, slowResponseMs: 5000 });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await sandbox?.close();
  await env?.teardown();
});

/** Starts `src/worker.ts` as its own process (one process: tsx as a require hook) and resolves once it polls. */
async function startWorkerProcess(taskQueue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(ROOT, 'src', 'worker.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS,
      TEMPORAL_NAMESPACE: process.env.TEMPORAL_TEST_NAMESPACE ?? 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      QOREPAY_BASE_URL: sandbox.baseUrl,
      QOREPAY_API_KEY: API_KEY,
      QOREPAY_TIMEOUT_MS: '20000',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`worker exited early: ${output}`);
      return output.includes('billing worker started');
    },
    'the worker process to start',
    60_000,
  );
  return child;
}

it('a worker killed during the charge activity, then a new worker: exactly one successful charge', async () => {
  const taskQueue = uniqueId('crash');
  const subscriptionId = uniqueId('crash').replace(/[^A-Za-z0-9_-]/g, '');
  const first = await startWorkerProcess(taskQueue);

  const input = cycleInput({ subscriptionId, recurringToken: `tok_slow_${uniqueId('t')}` });
  const handle = await env.client.workflow.start(billingCycleWorkflow, {
    workflowId: cycleWorkflowId(subscriptionId, 0),
    taskQueue,
    args: [input],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
  });

  // The charge request is at the gateway (the acquirer is working on it): kill the worker now.
  const purchaseId = await eventually(async () => {
    const s = await handle.query(cycleStateQuery);
    return s.status === 'charging' ? s.purchaseId : undefined;
  }, 'the charge to start');
  await eventually(() => sandbox.purchase(purchaseId)?.status === 'pending_execute', 'the gateway to be processing');
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));

  // The gateway finishes the charge with nobody listening; a new worker process takes over.
  await eventually(() => sandbox.purchase(purchaseId)?.status === 'paid', 'the gateway to commit', 30_000);
  await startWorkerProcess(taskQueue);
  const result = await handle.result();

  expect(result).toMatchObject({ status: 'paid', purchaseId });
  expect(sandbox.successfulCharges(handle.workflowId)).toHaveLength(1);
  // The charge ran twice: the dead worker's attempt timed out on its heartbeat, and the cycle's next attempt read
  // the Purchase, found it paid, and did not charge again.
  const history = await handle.fetchHistory();
  const chargeCalls = (history.events ?? []).filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'chargePurchase',
  );
  expect(chargeCalls.length).toBeGreaterThanOrEqual(2);
  expect(sandbox.ledger(handle.workflowId).filter((l) => l.outcome === 'success')).toHaveLength(1);
}, 180_000);
