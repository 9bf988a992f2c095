/**
 * The books' writers against a real PostgreSQL and the QorePay sandbox over HTTP: every invoice equals its Purchase,
 * numbers are per merchant, unique and increasing without gaps, writes are exactly-once under retries and races, and
 * credit notes never exceed what was paid.
 */
import fc from 'fast-check';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBooksReader, createBooksWriter, type BooksWriter } from '../../../src/records';
import { createGatewayActivities } from '../../../src/activities/gateway';
import { createRecordsActivities } from '../../../src/activities/records';
import { QorePayClient } from '../../../src/integrations/qorepay';
import { startQorePaySandbox, type QorePaySandbox } from '../../../src/sandbox/qorepay';
import type { LineItem } from '../../../src/shared/billing-cycle';
import type { CycleBooksWrite, PaymentEventBooksWrite } from '../../../src/shared/records';
import { BOOKS_REJECTED, type BooksWriteResult } from '../../../src/shared/records';
import { createTestBooks, type TestBooks } from '../../support/records';

const KEY = 'books-test-key';
let books: TestBooks;
let sandbox: QorePaySandbox;
let qorepay: QorePayClient;
let writer: BooksWriter;

beforeAll(async () => {
  books = await createTestBooks();
  sandbox = await startQorePaySandbox({ apiKey: KEY });
  qorepay = new QorePayClient({
    baseUrl: sandbox.baseUrl,
    apiKey: KEY,
    brandId: '00000000-0000-4000-8000-000000000001',
    timeoutMs: 5000,
  });
  writer = createBooksWriter({
    db: books.db,
    defaultMerchantId: 'default',
    readPurchase: async (id) => {
      const p = await qorepay.getPurchase(id);
      return { totalMinor: p.purchase?.total ?? 0, products: p.purchase?.products ?? [] };
    },
  });
});
afterAll(async () => {
  await sandbox?.close();
  await books?.drop();
});

let seq = 0;
const cycleId = (sub: string, i = 0) => `cycle:${sub}:${i}`;

async function purchaseFor(id: string, lineItems: LineItem[]): Promise<string> {
  const p = await createGatewayActivities(qorepay).createPurchase({
    cycleId: id,
    currency: 'NGN',
    lineItems,
    customerEmail: 'buyer@example.com',
  });
  return p.purchaseId;
}

function cycleWrite(over: Partial<CycleBooksWrite> & { cycleId: string; subscriptionId: string }): CycleBooksWrite {
  return {
    type: 'cycle',
    merchantId: 'm1',
    customerId: 'cust-1',
    periodIndex: Number(over.cycleId.split(':')[2] ?? 0),
    periodStart: '2027-01-01T00:00:00.000Z',
    periodEnd: '2027-02-01T00:00:00.000Z',
    status: 'charging',
    currency: 'NGN',
    amountMinor: 500_000,
    lineItems: [{ name: 'Pro plan', priceMinor: 500_000, quantity: 1 }],
    attempts: 0,
    observedAt: new Date(Date.UTC(2027, 0, 1, 0, 0, seq++)).toISOString(),
    ...over,
  };
}

/** A cycle billed and paid in the books; returns its invoice. */
async function paidCycle(sub: string, lineItems: LineItem[], merchantId = 'm1') {
  const id = cycleId(sub);
  const purchaseId = await purchaseFor(id, lineItems);
  const base = { cycleId: id, subscriptionId: sub, merchantId, lineItems, purchaseId };
  await writer.write(cycleWrite({ ...base, status: 'charging' }));
  await writer.write(cycleWrite({ ...base, status: 'paid', paidAt: '2027-01-01T00:05:00.000Z' }));
  return (await createBooksReader(books.db).getInvoiceOfCycle(id))!;
}

const lineItemArb = fc.record({
  name: fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim().length > 0),
  priceMinor: fc.integer({ min: 0, max: 50_000_000 }),
  quantity: fc.integer({ min: 1, max: 12 }),
});

describe('invoices', () => {
  it('equal their Purchase for every plan shape: lines, total, and lines − discounts + taxes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(lineItemArb, { minLength: 1, maxLength: 6 }), async (lineItems) => {
        const sub = `prop-${seq++}`;
        const invoice = await paidCycle(sub, lineItems);
        const doc = (await createBooksReader(books.db).getInvoice('m1', invoice.invoice_id))!;
        const purchase = sandbox.purchase(invoice.purchase_id)!;
        // The gateway's own total, as it will charge it.
        expect(doc.invoice.total_minor).toBe(purchase.purchase.total);
        expect(doc.invoice.total_minor).toBe(
          doc.invoice.subtotal_minor - doc.invoice.discount_minor + doc.invoice.tax_minor,
        );
        expect(doc.lines.map((l) => [l.description, l.unit_price_minor, l.quantity])).toEqual(
          lineItems.map((li) => [li.name, li.priceMinor, li.quantity]),
        );
        expect(doc.lines.reduce((s, l) => s + l.amount_minor, 0)).toBe(doc.invoice.total_minor);
        expect(doc.invoice.status).toBe('paid');
        expect(doc.invoice.paid_minor).toBe(doc.invoice.total_minor);
      }),
      { numRuns: 25 },
    );
  });

  it('are refused (for good) when the Purchase does not total its lines', async () => {
    const id = cycleId('mismatch');
    const purchaseId = await purchaseFor(id, [{ name: 'A', priceMinor: 1000, quantity: 1 }]);
    const lying = createBooksWriter({
      db: books.db,
      defaultMerchantId: 'default',
      readPurchase: async () => ({ totalMinor: 999, products: [{ name: 'A', price: 1000, quantity: '1' }] }),
    });
    await expect(
      lying.write(cycleWrite({ cycleId: id, subscriptionId: 'mismatch', purchaseId, status: 'charging' })),
    ).rejects.toThrow(/lines come to 1000 but the Purchase .* totals 999/);
    expect(await createBooksReader(books.db).getInvoiceOfCycle(id)).toBeUndefined();
  });

  it('are numbered per merchant, unique and increasing without gaps, even when writes race', async () => {
    const writes = await Promise.all(
      Array.from({ length: 12 }, async (_, k) => {
        const sub = `race-${k}`;
        const id = cycleId(sub);
        const purchaseId = await purchaseFor(id, [{ name: 'Plan', priceMinor: 100 + k, quantity: 1 }]);
        return cycleWrite({ cycleId: id, subscriptionId: sub, merchantId: 'm-race', purchaseId, amountMinor: 100 + k });
      }),
    );
    // Each fact written three times at once (a retried activity racing its first attempt).
    await Promise.all(writes.flatMap((w) => [writer.write(w), writer.write(w), writer.write(w)]));
    const page = await createBooksReader(books.db).listInvoices({ merchantId: 'm-race', limit: 100 });
    expect(page.items.map((i) => i.number).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, k) => k + 1));
    expect(new Set(page.items.map((i) => i.cycle_id)).size).toBe(12);
    // Another merchant starts at 1.
    const other = await paidCycle('other-merchant', [{ name: 'Plan', priceMinor: 5, quantity: 1 }], 'm-other');
    expect(other.number).toBe(1);
  });

  it('follow the cycle: void when canceled before any money, uncollectible when it ends unpaid; never reopened', async () => {
    const reader = createBooksReader(books.db);
    const canceled = cycleId('void-me');
    const p1 = await purchaseFor(canceled, [{ name: 'Plan', priceMinor: 700, quantity: 1 }]);
    await writer.write(
      cycleWrite({ cycleId: canceled, subscriptionId: 'void-me', purchaseId: p1, status: 'charging' }),
    );
    await writer.write(
      cycleWrite({ cycleId: canceled, subscriptionId: 'void-me', purchaseId: p1, status: 'canceled' }),
    );
    expect((await reader.getInvoiceOfCycle(canceled))!.status).toBe('void');

    const failed = cycleId('dunned');
    const p2 = await purchaseFor(failed, [{ name: 'Plan', priceMinor: 700, quantity: 1 }]);
    const late = cycleWrite({ cycleId: failed, subscriptionId: 'dunned', purchaseId: p2, status: 'retry_scheduled' });
    await writer.write(cycleWrite({ cycleId: failed, subscriptionId: 'dunned', purchaseId: p2, status: 'failed' }));
    // An older state written after the newer one (a retried write) changes neither the cycle nor the invoice.
    await writer.write({ ...late, observedAt: '2026-01-01T00:00:00.000Z' });
    expect((await reader.getInvoiceOfCycle(failed))!.status).toBe('uncollectible');
    const cycles = await reader.listCycles({ merchantId: 'm1', subscriptionId: 'dunned' });
    expect(cycles.items.map((c) => c.status)).toEqual(['failed']);
  });
});

describe('credit notes', () => {
  const refund = (sub: string, over: Partial<PaymentEventBooksWrite>): PaymentEventBooksWrite => ({
    type: 'payment_event',
    kind: 'refund',
    subscriptionId: sub,
    merchantId: 'm1',
    cycleId: cycleId(sub),
    purchaseId: 'unused',
    at: `2027-01-10T00:00:0${seq++ % 10}.000Z`,
    ...over,
  });

  it('one per refund, written once however often it is told, and never above what was paid', async () => {
    const invoice = await paidCycle('refunded', [{ name: 'Plan', priceMinor: 10_000, quantity: 1 }]);
    const first = refund('refunded', { purchaseId: invoice.purchase_id, paymentId: 'pay-r1', amountMinor: 4_000 });
    await Promise.all([writer.write(first), writer.write(first), writer.write(first)]);
    await writer.write(
      refund('refunded', { purchaseId: invoice.purchase_id, paymentId: 'pay-r2', amountMinor: 6_000 }),
    );
    await expect(
      writer.write(refund('refunded', { purchaseId: invoice.purchase_id, paymentId: 'pay-r3', amountMinor: 1 })),
    ).rejects.toThrow(/refund of 1 on invoice \d+ .* exceeds what is left paid on it \(0\)/);
    const doc = (await createBooksReader(books.db).getInvoice('m1', invoice.invoice_id))!;
    expect(doc.creditNotes.map((c) => c.amount_minor)).toEqual([4_000, 6_000]);
    expect(doc.payments.map((p) => p.kind).sort()).toEqual(['charge', 'refund', 'refund']);
  });

  it('a chargeback without an amount credits what is left paid', async () => {
    const invoice = await paidCycle('disputed', [{ name: 'Plan', priceMinor: 9_000, quantity: 1 }]);
    await writer.write(
      refund('disputed', { purchaseId: invoice.purchase_id, paymentId: 'pay-d1', amountMinor: 2_000 }),
    );
    await writer.write(refund('disputed', { kind: 'chargeback', purchaseId: invoice.purchase_id }));
    const doc = (await createBooksReader(books.db).getInvoice('m1', invoice.invoice_id))!;
    expect(doc.creditNotes.map((c) => [c.kind, c.amount_minor])).toEqual([
      ['refund', 2_000],
      ['chargeback', 7_000],
    ]);
  });

  it('the activity turns a refusal into a non-retryable BooksRejected failure and reports what it wrote', async () => {
    const invoice = await paidCycle('act', [{ name: 'Plan', priceMinor: 100, quantity: 1 }]);
    const activities = createRecordsActivities({ books, qorepay });
    const recordBooks = (writes: PaymentEventBooksWrite[]): Promise<BooksWriteResult> =>
      new MockActivityEnvironment().run((w: PaymentEventBooksWrite[]) => activities.recordBooks(w), writes);
    const over = refund('act', { purchaseId: invoice.purchase_id, paymentId: 'pay-a1', amountMinor: 101 });
    await expect(recordBooks([over])).rejects.toMatchObject({ type: BOOKS_REJECTED, nonRetryable: true });
    const ok = refund('act', { purchaseId: invoice.purchase_id, paymentId: 'pay-a2', amountMinor: 100 });
    expect((await recordBooks([ok])).written).toEqual([
      expect.stringMatching(/^refund 100, credit note \d+ \(refund 100\)$/),
    ]);
    expect((await recordBooks([ok])).written).toEqual([expect.stringMatching(/already written/)]);
    expect(await createRecordsActivities({ qorepay }).recordBooks([ok])).toEqual({ written: ['no records store'] });
  });
});
