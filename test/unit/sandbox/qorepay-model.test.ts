/** The QorePay sandbox's model and charge scenarios without HTTP: the gateway's rules on their own. */
import { chargePurchase, QorePayModel, type ChargeAnswer } from '../../../src/sandbox/qorepay';
import { SandboxTimers } from '../../../src/sandbox/kit';

function setup(): { model: QorePayModel; events: string[]; timers: SandboxTimers } {
  const events: string[] = [];
  const model = new QorePayModel({ webhookUrls: ['http://127.0.0.1:9/hook'] }, (_target, type) => events.push(type));
  return { model, events, timers: new SandboxTimers() };
}

function purchase(model: QorePayModel, reference: string) {
  const client = model.newClient({ email: 'payer@example.test' });
  return model.newPurchase({
    brandId: 'brand',
    clientId: client.id as string,
    client,
    reference,
    currency: 'NGN',
    products: [{ name: 'Plan', price: 1500, quantity: '2' }],
    body: {},
    purchaseExtra: {},
  });
}

const statusOf = (a: ChargeAnswer): number | string => (a.type === 'answer' ? a.status : a.type);

describe('QorePayModel and charges', () => {
  it('soft-declines twice, then pays once; a paid purchase is never charged again', async () => {
    const { model, events, timers } = setup();
    const p = purchase(model, 'cycle:s1:0');
    expect(p.purchase.total).toBe(3000);
    const timing = { timers, pendingResolveDelayMs: 10, slowResponseMs: 10 };
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(statusOf(await chargePurchase(model, p, 'tok_soft2_x', timing)));
    expect(answers).toEqual([400, 400, 200, 400]);
    expect(model.ledger.list().map((e) => e.outcome)).toEqual(['declined', 'declined', 'success', 'error']);
    expect(model.purchases.get(p.id)?.status).toBe('paid');
    expect(events.filter((e) => e === 'purchase.paid')).toHaveLength(1);
    timers.close();
  });

  it('a commit-then-timeout charge commits and loses its answer; a real recurring token pays', async () => {
    const { model, timers } = setup();
    const timing = { timers, pendingResolveDelayMs: 10, slowResponseMs: 10 };
    const lost = purchase(model, 'cycle:s2:0');
    expect(await chargePurchase(model, lost, 'tok_commit_timeout_y', timing)).toEqual({ type: 'lost' });
    expect(model.purchases.get(lost.id)?.status).toBe('paid');
    const token = model.createRecurringToken();
    expect(statusOf(await chargePurchase(model, purchase(model, 'cycle:s2:1'), token, timing))).toBe(200);
    expect(statusOf(await chargePurchase(model, purchase(model, 'cycle:s2:2'), 'unknown-token', timing))).toBe(400);
    timers.close();
  });
});
