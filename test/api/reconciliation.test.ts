/**
 * Reconciliation from the operator's tools, on the dev server with a billing worker and the QorePay sandbox: the CLI's
 * `reconcile` (text, `--json` parsed, exit codes) and the API's POST/GET /v1/reconciliations (validation, 404, auth,
 * OpenAPI). The discrepancy they find is real: a cycle ended failed (the gateway refused to cancel its Purchase), then
 * its Purchase was paid at the gateway.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { BillingOperator } from '@temporal-billing/client/engine';
import { buildCli } from '../../src/cli';
import { DEFAULT_DUNNING_POLICY } from '../../src/domain/dunning';
import { QorePayWebhookVerifier } from '../../src/integrations/qorepay';
import { cycleWorkflowId } from '../../src/shared/billing-cycle';
import type { ReconciliationItem, ReconciliationSummary } from '../../src/shared/reconciliation';
import { billingCycleWorkflow } from '../../src/workflows';
import { silentLogger, startTestApi, type RunningTestApi } from '../support/api-stack';
import { cycleInput, eventually, startBillingStack, type BillingStack } from '../support/billing-stack';
import { bundleWorkflows, connectToDevServer, uniqueId } from '../support/temporal';

let env: TestWorkflowEnvironment;
let stack: BillingStack;
let api: RunningTestApi;
let cycleId: string;
let purchaseId: string;

beforeAll(async () => {
  const [e, bundle] = await Promise.all([
    connectToDevServer(),
    bundleWorkflows(require.resolve('../../src/workflows')),
  ]);
  env = e;
  stack = await startBillingStack(env, { workflowBundle: bundle, taskQueue: uniqueId('reconcile-ops') });
  api = await startTestApi(
    env.client,
    {
      verifier: new QorePayWebhookVerifier({ fetchCompanyKey: () => stack.qorepay.getPublicKey() }),
      qorepay: stack.qorepay,
      logger: silentLogger,
    },
    { taskQueue: stack.taskQueue },
  );

  // A cycle that ends failed (hard decline, about a second of grace), then is paid at the gateway. Its unpaid end
  // cancels the Purchase; here the gateway refuses that cancel, so the Purchase stays payable and money arrives later.
  const subscriptionId = uniqueId('recops').replace(/[^A-Za-z0-9_-]/g, '');
  stack.sandbox.refuseCancels(cycleWorkflowId(subscriptionId, 0));
  const handle = await env.client.workflow.start(billingCycleWorkflow, {
    workflowId: cycleWorkflowId(subscriptionId, 0),
    taskQueue: stack.taskQueue,
    args: [
      cycleInput({
        subscriptionId,
        recurringToken: `tok_hard_stolen_card_${uniqueId('t')}`,
        dunning: { ...DEFAULT_DUNNING_POLICY, hardDeclineGraceHours: 0.0003, minHoursBetweenAttempts: 0 },
      }),
    ],
  });
  const result = await handle.result();
  expect(result.status).toBe('failed');
  cycleId = handle.workflowId;
  purchaseId = result.purchaseId!;
  await stack.qorepay.markAsPaid(purchaseId);
  await eventually(async () => {
    for await (const wf of env.client.workflow.list({
      query: `WorkflowId = '${cycleId}' AND ExecutionStatus = 'Completed'`,
    }))
      return wf.workflowId === cycleId;
    return false;
  }, 'the failed cycle in visibility');
});
afterAll(async () => {
  await api?.close();
  await stack?.stop();
  await env?.teardown();
});

async function runCli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  let code = 0;
  await buildCli({
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    connect: async () => new BillingOperator({ client: env.client, taskQueue: stack.taskQueue }),
    setExitCode: (c) => (code = c),
  }).parseAsync(args, { from: 'user' });
  return { code, out, err };
}

const mine = (items: ReconciliationItem[]) => items.filter((i) => i.cycleId === cycleId);

describe('npm run cli -- reconcile', () => {
  it('--json prints the summary as one line of JSON and exits 5 when something needs a person', async () => {
    const r = await runCli(['--json', 'reconcile', '--since', '1h']);
    expect(r.err).toEqual([]);
    expect(r.out).toHaveLength(1);
    const summary = JSON.parse(r.out[0]!) as ReconciliationSummary & { reconciliationId: string };
    expect(summary.reconciliationId).toMatch(/^reconciliation:run:/);
    expect(summary.finishedAt).toBeDefined();
    expect(summary.cyclesChecked).toBeGreaterThanOrEqual(1);
    expect(summary.counts.paid_on_closed_cycle.reported).toBeGreaterThanOrEqual(1);
    expect(mine(summary.items)).toEqual([
      expect.objectContaining({ kind: 'paid_on_closed_cycle', outcome: 'reported', purchaseId, amountMinor: 500_000 }),
    ]);
    expect(r.code).toBe(5);
  });

  it('prints a summary a person reads without --json', async () => {
    const r = await runCli(['reconcile']);
    const text = r.out.join('\n');
    expect(text).toMatch(/^Reconciliation finished: \d+ cycles? checked/);
    expect(text).toMatch(/Money taken on a cycle that ended unpaid: [1-9]/);
    expect(text).toContain(`purchase ${purchaseId}, 5000.00 NGN`);
    expect(r.code).toBe(5);
  });

  it('exits 2 naming --since when it is not a window', async () => {
    const r = await runCli(['--json', 'reconcile', '--since', 'next week']);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    const error = JSON.parse(r.err[0]!) as { error: string; message: string; exitCode: number };
    expect(error).toMatchObject({ error: 'invalid_input', exitCode: 2 });
    expect(error.message).toMatch(/^--since: must be a duration/);
  });

  it('documents its exit codes in --help', async () => {
    const out: string[] = [];
    try {
      await buildCli({ out: (t) => out.push(t), err: (t) => out.push(t) }).parseAsync(['--help'], { from: 'user' });
    } catch {
      // commander's exitOverride throws after printing help
    }
    expect(out.join('\n')).toMatch(/5 {2}reconcile: the sweep ran and found discrepancies/);
  });
});

describe('POST and GET /v1/reconciliations', () => {
  it('runs a sweep and answers its summary at the Location', async () => {
    const started = await api.operator.post('/v1/reconciliations', { since: '2h' });
    expect(started.status).toBe(202);
    const location = started.headers.location as string;
    expect(location).toMatch(/^\/v1\/reconciliations\/reconciliation%3Arun%3A/);
    const run = await eventually(async () => {
      const r = await api.operator.get(location);
      const body = r.data as unknown as { status: string; summary?: ReconciliationSummary & { text: string } };
      return r.status === 200 && body.status === 'completed' ? body : undefined;
    }, 'the run to complete');
    expect(mine(run.summary!.items)).toEqual([
      expect.objectContaining({ kind: 'paid_on_closed_cycle', outcome: 'reported', purchaseId }),
    ]);
    expect(run.summary!.text).toContain('Money taken on a cycle that ended unpaid');
  });

  it('answers 400 naming the field, 404 for an unknown run, 401 without a key', async () => {
    const bad = await api.operator.post('/v1/reconciliations', { since: '2999-01-01' });
    expect(bad.status).toBe(400);
    expect(bad.data).toEqual({
      error: 'validation_failed',
      issues: [{ path: 'since', message: 'must be in the past' }],
    });
    const extra = await api.operator.post('/v1/reconciliations', { sinse: '1h' });
    expect(extra.status).toBe(400);

    expect((await api.operator.get('/v1/reconciliations/reconciliation:run:nope')).status).toBe(404);
    const badId = await api.operator.get('/v1/reconciliations/not-a-run');
    expect(badId.status).toBe(400);
    expect(badId.data.issues?.[0]?.path).toBe('reconciliationId');
    expect((await api.http.post('/v1/reconciliations', {})).status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const doc = await api.http.get('/openapi.json');
    expect(Object.keys(doc.data.paths?.['/v1/reconciliations'] ?? {})).toEqual(['post']);
    expect(Object.keys(doc.data.paths?.['/v1/reconciliations/{reconciliationId}'] ?? {})).toEqual(['get']);
  });
});
