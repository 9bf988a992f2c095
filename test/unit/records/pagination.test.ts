/**
 * Keyset pagination of the books' lists against a real PostgreSQL: walking the pages with any page size gives every
 * row exactly once, in the list's order, also when many rows share a timestamp (the sort key's tie-breaker is the
 * row's id), and a row written while a caller is between pages neither shifts nor repeats the rows already shown.
 * Each property run writes under a merchant of its own, so runs never see each other's rows.
 */
import fc from 'fast-check';
import { BadCursor, createBooksReader, createBooksWriter, type BooksReader, type Page } from '../../../src/records';
import { MAX_PAGE_SIZE } from '../../../src/records/readers';
import { createTestBooks, type TestBooks } from '../../support/records';

let books: TestBooks;
let reader: BooksReader;
let writer: ReturnType<typeof createBooksWriter>;

beforeAll(async () => {
  books = await createTestBooks();
  reader = createBooksReader(books.db);
  writer = createBooksWriter({
    db: books.db,
    defaultMerchantId: 'default',
    readPurchase: async () => {
      throw new Error('no Purchase is read by these tests');
    },
  });
});
afterAll(async () => {
  await books?.drop();
});

let run = 0;
const merchant = () => `m${++run}_${Date.now().toString(36)}`;
/** A handful of instants, so that many rows share one. */
const INSTANTS = ['2031-01-01T00:00:00.000Z', '2031-01-01T00:00:00.001Z', '2031-06-01T12:00:00.000Z'];

async function writeSubscription(merchantId: string, id: string, createdAt: string, planId = 'pro'): Promise<void> {
  await writer.write({
    type: 'subscription',
    subscriptionId: id,
    merchantId,
    customerId: `cust-${merchantId}`,
    status: 'active',
    plan: { planId, currency: 'EUR', lineItems: [{ name: 'Pro', priceMinor: 1000, quantity: 1 }] },
    schedule: { intervalUnit: 'month', intervalCount: 1, anchor: '2031-01-01', timeZone: 'UTC' },
    nextPeriodIndex: 0,
    cancelAtPeriodEnd: false,
    createdAt,
    observedAt: createdAt,
  });
}

/** Every page of a list, following the cursors (bounded, so a cursor that loops fails the test instead of hanging). */
async function walk<T>(list: (cursor: string | undefined) => Promise<Page<T>>): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let pages = 1; pages <= 1000; pages++) {
    const page = await list(cursor);
    items.push(...page.items);
    if (!page.nextCursor) return { items, pages };
    cursor = page.nextCursor;
  }
  throw new Error('more than 1,000 pages: the cursor does not advance');
}

describe('keyset pagination', () => {
  it('subscriptions: every row once, newest first then by id, whatever the page size and however many share an instant', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 0, maxLength: 25 }),
        fc.array(fc.constantFrom(...INSTANTS), { minLength: 25, maxLength: 25 }),
        fc.integer({ min: 1, max: 7 }),
        async (ids, instants, limit) => {
          const m = merchant();
          const rows = ids.map((id, i) => ({ id: `${m}-${id}`, at: instants[i]! }));
          for (const r of rows) await writeSubscription(m, r.id, r.at);
          const { items, pages } = await walk((cursor) =>
            reader.listSubscriptions({ merchantId: m, limit, ...(cursor ? { cursor } : {}) }),
          );
          const expected = [...rows]
            .sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1))
            .map((r) => r.id);
          expect(items.map((s) => s.subscription_id)).toEqual(expected);
          expect(pages).toBe(Math.max(1, Math.ceil(rows.length / limit)));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('payments: every row once, newest first then by key, with many at one instant', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...INSTANTS), { minLength: 0, maxLength: 30 }),
        fc.integer({ min: 1, max: 9 }),
        async (instants, limit) => {
          const m = merchant();
          const sub = `${m}-sub`;
          const rows = instants.map((at, i) => ({ key: `${m}:refund:${String(i).padStart(3, '0')}`, at }));
          if (rows.length) {
            await books.db
              .insertInto('payments')
              .values(
                rows.map((r) => ({
                  payment_key: r.key,
                  kind: 'refund' as const,
                  merchant_id: m,
                  subscription_id: sub,
                  cycle_id: `cycle:${sub}:0`,
                  invoice_id: null,
                  purchase_id: 'p',
                  gateway_payment_id: null,
                  amount_minor: 1,
                  currency: 'EUR',
                  occurred_at: r.at,
                })),
              )
              .execute();
          }
          const { items } = await walk((cursor) =>
            reader.listPayments({ merchantId: m, subscriptionId: sub, limit, ...(cursor ? { cursor } : {}) }),
          );
          const expected = [...rows]
            .sort((a, b) => (a.at === b.at ? (a.key < b.key ? 1 : -1) : a.at < b.at ? 1 : -1))
            .map((r) => r.key);
          expect(items.map((p) => p.payment_key)).toEqual(expected);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('cycles: oldest first for the API, newest first for the console, every period once', async () => {
    const m = merchant();
    const sub = `${m}-sub`;
    await books.db
      .insertInto('cycles')
      .values(
        [3, 0, 4, 1, 2].map((i) => ({
          cycle_id: `cycle:${sub}:${i}`,
          subscription_id: sub,
          merchant_id: m,
          customer_id: 'c',
          period_index: i,
          period_start: INSTANTS[0]!,
          period_end: INSTANTS[2]!,
          status: 'paid',
          purchase_id: null,
          currency: 'EUR',
          amount_minor: 100,
          attempts: 1,
          paid_at: null,
          failure_reason: null,
          observed_at: INSTANTS[0]!,
        })),
      )
      .execute();
    for (const [order, expected] of [
      ['asc', [0, 1, 2, 3, 4]],
      ['desc', [4, 3, 2, 1, 0]],
    ] as const) {
      for (const limit of [1, 2, 5, 6]) {
        const { items } = await walk((cursor) =>
          reader.listCycles({ merchantId: m, subscriptionId: sub, order, limit, ...(cursor ? { cursor } : {}) }),
        );
        expect(items.map((c) => c.period_index)).toEqual(expected);
        expect(items.every((c) => c.invoice_id === null)).toBe(true);
      }
    }
  });

  it('a row written between two pages does not move the rows after the cursor', async () => {
    const m = merchant();
    for (let i = 0; i < 6; i++) await writeSubscription(m, `${m}-${i}`, INSTANTS[0]!);
    const first = await reader.listSubscriptions({ merchantId: m, limit: 3 });
    expect(first.items.map((s) => s.subscription_id)).toEqual([`${m}-5`, `${m}-4`, `${m}-3`]);
    // A newer subscription sorts before the cursor; one at the same instant with a larger id too.
    await writeSubscription(m, `${m}-9`, INSTANTS[0]!);
    await writeSubscription(m, `${m}-new`, INSTANTS[2]!);
    const second = await reader.listSubscriptions({ merchantId: m, limit: 3, cursor: first.nextCursor! });
    expect(second.items.map((s) => s.subscription_id)).toEqual([`${m}-2`, `${m}-1`, `${m}-0`]);
    expect(second.nextCursor).toBeUndefined();
  });

  it('filters by plan and status, and a plan change moves the row to its new plan', async () => {
    const m = merchant();
    await writeSubscription(m, `${m}-a`, INSTANTS[0]!, 'pro');
    await writeSubscription(m, `${m}-b`, INSTANTS[0]!, 'pro');
    expect((await reader.listSubscriptions({ merchantId: m, planId: 'pro' })).items).toHaveLength(2);
    // The activity that records the change writes the whole row again, observed later.
    await writer.write({
      type: 'subscription',
      subscriptionId: `${m}-b`,
      merchantId: m,
      customerId: `cust-${m}`,
      status: 'active',
      plan: { planId: 'team', currency: 'EUR', lineItems: [{ name: 'Team', priceMinor: 2500, quantity: 2 }] },
      schedule: {},
      nextPeriodIndex: 1,
      cancelAtPeriodEnd: false,
      createdAt: INSTANTS[0]!,
      observedAt: INSTANTS[2]!,
    });
    expect(
      (await reader.listSubscriptions({ merchantId: m, planId: 'pro' })).items.map((s) => s.subscription_id),
    ).toEqual([`${m}-a`]);
    const team = await reader.listSubscriptions({ merchantId: m, planId: 'team' });
    expect(team.items.map((s) => [s.subscription_id, s.amount_minor])).toEqual([[`${m}-b`, 5000]]);
    expect((await reader.listSubscriptions({ merchantId: m, status: 'paused' })).items).toEqual([]);
  });

  it('a page is at most MAX_PAGE_SIZE rows, and a cursor from another list, or garbage, is refused', async () => {
    const m = merchant();
    for (let i = 0; i < 3; i++) await writeSubscription(m, `${m}-${i}`, INSTANTS[1]!);
    expect((await reader.listSubscriptions({ merchantId: m, limit: MAX_PAGE_SIZE + 50 })).items).toHaveLength(3);
    const page = await reader.listSubscriptions({ merchantId: m, limit: 1 });
    await expect(
      reader.listCycles({ merchantId: m, subscriptionId: 'x', cursor: page.nextCursor! }),
    ).rejects.toBeInstanceOf(BadCursor);
    for (const cursor of ['bm90LWEtY3Vyc29y', Buffer.from('["not a date","x"]').toString('base64url')]) {
      await expect(reader.listSubscriptions({ merchantId: m, cursor })).rejects.toBeInstanceOf(BadCursor);
    }
  });
});
