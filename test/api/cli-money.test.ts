/**
 * The ops CLI's money commands against the test stack (a real worker, the QorePay sandbox, the dev server), with
 * `--json` output parsed: refund (idempotent by key), chargeback, and JSON errors with their exit codes.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { buildCli } from '../../src/cli';
import { BillingOperator } from '@temporal-billing/client/engine';
import { connectToDevServer, uniqueId } from '../support/temporal';
import { eventually, startApiStack, subscriptionBody, type ApiStack } from '../support/api-stack';

let env: TestWorkflowEnvironment;
let stack: ApiStack;

beforeAll(async () => {
  env = await connectToDevServer();
  stack = await startApiStack(env, {
    taskQueue: uniqueId('cli'),
    sandboxKey: 'cli-test-secret-key',
    webhookRetryDelaysMs: [0, 200],
    pendingResolveDelayMs: 1000,
  });
});
afterAll(async () => {
  await stack?.stop();
  await env?.teardown();
});

async function cli(args: string[]): Promise<{ code: number; out: unknown[]; err: unknown[] }> {
  const out: string[] = [];
  const err: string[] = [];
  let code = 0;
  await buildCli({
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    connect: async () => new BillingOperator({ client: env.client, taskQueue: stack.taskQueue }),
    setExitCode: (c) => (code = c),
  }).parseAsync(['--json', ...args], { from: 'user' });
  // --json: every line is one JSON document
  return { code, out: out.map((l) => JSON.parse(l) as unknown), err: err.map((l) => JSON.parse(l) as unknown) };
}

it('refunds a paid cycle once per key, registers a chargeback, and answers errors as JSON with exit codes', async () => {
  const id = uniqueId('cli').replace(/[^A-Za-z0-9_-]/g, '');
  const anchor = new Date().toISOString().slice(0, 16);
  const body = subscriptionBody(id, { schedule: { intervalUnit: 'month', intervalCount: 1, anchor, timeZone: 'UTC' } });
  const created = await stack.api.authed.post('/v1/subscriptions', body);
  expect(created.status).toBe(201);
  const cycleId = `cycle:${id}:0`;
  // Refundable once the subscription has the cycle's final report.
  await eventually(async () => {
    const r = await cli(['get', id]);
    const recent = (r.out[0] as { recentCycles?: { cycleId: string; status: string }[] } | undefined)?.recentCycles;
    return recent?.some((c) => c.cycleId === cycleId && c.status === 'paid');
  }, 'the subscription to record the paid cycle');

  const refund = await cli([
    'refund',
    id,
    cycleId,
    '--amount',
    '500',
    '--reason',
    'goodwill',
    '--idempotency-key',
    'k1',
  ]);
  expect(refund.err).toEqual([]);
  expect(refund.code).toBe(0);
  expect(refund.out).toHaveLength(1);
  expect(refund.out[0]).toMatchObject({ kind: 'refund', cycleId, amountMinor: 500 });
  // The same request with the same key: the first record again. The key on another request: refused (exit 4).
  const again = await cli([
    'refund',
    id,
    cycleId,
    '--amount',
    '500',
    '--reason',
    'goodwill',
    '--idempotency-key',
    'k1',
  ]);
  expect(again.err).toEqual([]);
  expect(again.out[0]).toEqual(refund.out[0]);
  const otherRequest = await cli(['refund', id, cycleId, '--amount', '500', '--idempotency-key', 'k1']);
  expect(otherRequest.code).toBe(4);
  expect(JSON.stringify(otherRequest.err)).toContain('Idempotency-Key');
  // Refunded once at the gateway: 19.99 EUR less 5.00 is left.
  const purchaseId = (refund.out[0] as { purchaseId: string }).purchaseId;
  expect(stack.sandbox.purchase(purchaseId)?.refundable_amount).toBe(1999 - 500);

  const { QorePayClient } = await import('../../src/integrations/qorepay');
  const reasons = await new QorePayClient({
    baseUrl: stack.sandbox.baseUrl,
    apiKey: 'cli-test-secret-key',
    brandId: 'brand',
    timeoutMs: 5000,
  }).listChargebackReasons();
  const chargeback = await cli([
    'chargeback',
    id,
    cycleId,
    '--reason-id',
    reasons[0]!.id,
    '--arn',
    'ARN123',
    '--date',
    String(Math.floor(Date.now() / 1000)),
    '--reference',
    'cb-1',
  ]);
  expect(chargeback.err).toEqual([]);
  expect(chargeback.code).toBe(0);
  expect(chargeback.out[0]).toMatchObject({ kind: 'chargeback', cycleId });

  const tooMuch = await cli(['refund', id, cycleId, '--amount', '99999999']);
  expect(tooMuch.code).not.toBe(0);
  expect(tooMuch.out).toEqual([]);
  expect(tooMuch.err[0]).toMatchObject({ exitCode: tooMuch.code });

  const ghost = uniqueId('ghost').replace(/[^A-Za-z0-9_-]/g, '');
  const missing = await cli(['refund', ghost, `cycle:${ghost}:0`]);
  expect(missing.code).toBe(3);
  expect(missing.err[0]).toMatchObject({ error: 'not_found', exitCode: 3 });

  const invalid = await cli(['refund', id, cycleId, '--amount', '-5']);
  expect(invalid.code).toBe(2);
  expect(invalid.err[0]).toMatchObject({ error: 'validation_failed', exitCode: 2 });
  expect((invalid.err[0] as { message: string }).message).toMatch(/amountMinor/);
});
