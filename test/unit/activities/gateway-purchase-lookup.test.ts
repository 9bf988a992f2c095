/**
 * The gateway activities against the in-process QorePay sandbox, over real HTTP: the period's Purchase is found again
 * by its reference (the cycle id) before one is created, so a cycle reset to its first task, re-created after
 * retention, or retrying a create whose answer was lost never charges the period on a second Purchase.
 */
import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createGatewayActivities, type ChargeOutcome, type PurchaseSnapshot } from '../../../src/activities/gateway';
import { QorePayClient } from '../../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../../src/sandbox/qorepay';
import { uniq } from '../../support/http';

const API_KEY = `sk_test_${randomUUID().replace(/-/g, '')}`;
let sandbox: QorePaySandbox;
let client: QorePayClient;
let gateway: Gateway;

beforeAll(async () => {
  sandbox = await startQorePaySandbox({ apiKey: API_KEY, tokensPageSize: 2, webhookRetryDelaysMs: [0] });
  client = new QorePayClient({ baseUrl: sandbox.baseUrl, apiKey: API_KEY, brandId: randomUUID() });
  gateway = createGatewayActivities(client);
});
afterAll(async () => {
  await sandbox.close();
});

type Gateway = ReturnType<typeof createGatewayActivities>;
type CreateInput = Parameters<Gateway['createPurchase']>[0];
type ChargeInput = Parameters<Gateway['chargePurchase']>[0];
const create = (i: CreateInput): Promise<PurchaseSnapshot> =>
  new MockActivityEnvironment().run((x: CreateInput) => gateway.createPurchase(x), i);
const charge = (i: ChargeInput): Promise<ChargeOutcome> =>
  new MockActivityEnvironment().run((x: ChargeInput) => gateway.chargePurchase(x), i);

const input = (cycleId: string, priceMinor = 1999) => ({
  cycleId,
  currency: 'EUR',
  lineItems: [{ name: 'Pro', priceMinor, quantity: 1 }],
  customerEmail: 'payer@example.test',
});

describe("createPurchase finds the period's Purchase by reference", () => {
  it('a second create for a paid period adopts the paid Purchase: the card is charged once', async () => {
    const cycleId = `cycle:${uniq('sub')}:0`;
    const token = `tok_success_${uniq('x')}`;
    const first = await create(input(cycleId));
    await charge({ purchaseId: first.purchaseId, recurringToken: token });

    // The cycle is reset to its first workflow task: it creates and charges again.
    const again = await create(input(cycleId));
    const answer = await charge({ purchaseId: again.purchaseId, recurringToken: token });

    expect(again.purchaseId).toBe(first.purchaseId);
    expect(answer).toMatchObject({ outcome: 'paid', charged: false });
    expect(sandbox.successfulCharges(cycleId)).toHaveLength(1);
    const listed = await client.listPurchasesByReference(cycleId);
    expect(listed.map((p) => p.id)).toEqual([first.purchaseId]);
  });

  it('an open Purchase of the period is reused; a closed one is not, and one for another amount is not', async () => {
    const cycleId = `cycle:${uniq('sub')}:3`;
    const open = await create(input(cycleId));
    expect((await create(input(cycleId))).purchaseId).toBe(open.purchaseId);

    // Another amount (a plan change before the re-creation): not this period's bill as it stands now.
    const other = await create(input(cycleId, 2999));
    expect(other.purchaseId).not.toBe(open.purchaseId);

    await client.cancelPurchase(open.purchaseId);
    const fresh = await create(input(cycleId));
    expect([open.purchaseId, other.purchaseId]).not.toContain(fresh.purchaseId);
    expect((await client.listPurchasesByReference(cycleId)).map((p) => p.id)).toEqual([
      open.purchaseId,
      other.purchaseId,
      fresh.purchaseId,
    ]);
  });

  it("lists by exact reference across pages, never another cycle's Purchase", async () => {
    const sub = uniq('sub');
    const mine: string[] = [];
    for (let i = 0; i < 3; i++) {
      mine.push(
        (
          await client.createPurchase({
            reference: `cycle:${sub}:1`,
            currency: 'EUR',
            client: { email: 'a@b.test' },
            products: [{ name: 'x', price: 100 + i }],
          })
        ).id,
      );
      await client.createPurchase({
        reference: `cycle:${sub}:10`,
        currency: 'EUR',
        client: { email: 'a@b.test' },
        products: [{ name: 'x', price: 1 }],
      });
    }
    expect((await client.listPurchasesByReference(`cycle:${sub}:1`)).map((p) => p.id)).toEqual(mine);
  });
});
