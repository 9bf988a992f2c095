/**
 * The console over a real records database: books seeded as the recordBooks activity would write them (two merchants,
 * a paid cycle with its invoice and a partial refund, a declined cycle waiting for a card, a customer whose id is
 * hostile markup or a spreadsheet formula), and a BillingClient stand-in that records every change it is asked for
 * (with its Idempotency-Key) and answers the live reads as a running workflow would.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { BillingClient } from '@temporal-billing/client';
import { consolePlugin } from '../../src/console/plugin';
import { apiKeyMatcher } from '../../src/api/server';
import { plainMerchantKey, plainOperatorKey, type ApiKeySpec } from '../../src/api/api-keys';
import type { BooksDatabase } from '../../src/records/schema';
import pino from 'pino';

export const MERCHANT_KEY = 'console-merchant-key-0123456789';
export const OTHER_MERCHANT_KEY = 'console-other-merchant-key-0123456789';
export const OPERATOR_KEY = 'console-operator-key-0123456789';

export const HOSTILE_CUSTOMER = `<script>alert("pwned")</script><img src=x onerror=alert(1)>&'`;
export const FORMULA_CUSTOMER = '=HYPERLINK("http://evil.example","click")';

export const KEYS: ApiKeySpec[] = [
  { ...plainMerchantKey(MERCHANT_KEY, 0), id: 'shop-a-key', merchantId: 'shop-a' },
  { ...plainMerchantKey(OTHER_MERCHANT_KEY, 1), id: 'shop-b-key', merchantId: 'shop-b' },
  plainOperatorKey(OPERATOR_KEY, 0),
];

export interface RecordedChange {
  merchantId: string;
  keyId: string | undefined;
  crossMerchant: boolean;
  method: string;
  args: unknown[];
  idempotencyKey: string | undefined;
}

/** A BillingClient stand-in: changes are recorded (the console must send each through its viewer's client). */
export function recordingBilling(
  changes: RecordedChange[],
  opts: { live?: Record<string, Record<string, unknown>> } = {},
): BillingClient {
  const live = opts.live ?? {};
  const scoped = (merchantId: string, opts: { crossMerchant?: boolean; keyId?: string }) => {
    const record =
      (method: string, answer: (...args: unknown[]) => unknown) =>
      async (...args: unknown[]) => {
        const last = args[args.length - 1] as { idempotencyKey?: string } | undefined;
        changes.push({
          merchantId,
          keyId: opts.keyId,
          crossMerchant: opts.crossMerchant ?? false,
          method,
          args,
          idempotencyKey: last?.idempotencyKey,
        });
        return answer(...args);
      };
    return {
      merchantId,
      crossMerchant: opts.crossMerchant ?? false,
      temporal: {
        workflow: {
          list: async function* () {
            yield* [];
          },
        },
      },
      subscriptions: {
        get: async (id: string) => {
          const state = live[id];
          if (!state) throw new Error(`live state of ${id} not available in this test`);
          return { cancelAtPeriodEnd: false, cyclesInFlight: [], recentCycles: [], paymentEvents: [], ...state };
        },
        pause: record('subscriptions.pause', () => ({ status: 'paused' })),
        resume: record('subscriptions.resume', () => ({ status: 'active' })),
        cancel: record('subscriptions.cancel', () => ({ status: 'canceled', cancelAtPeriodEnd: false })),
        refund: record('subscriptions.refund', (_s, input) => ({
          amountMinor: (input as { amountMinor?: number }).amountMinor,
        })),
      },
      cycles: {
        get: async (id: string) => {
          throw new Error(`live state of ${id} not available in this test`);
        },
        retryNow: record('cycles.retryNow', () => ({ status: 'charging' })),
        markPaid: record('cycles.markPaid', () => ({ status: 'marked_paid' })),
      },
    };
  };
  const root = { ...scoped('default', {}), forMerchant: scoped };
  return root as unknown as BillingClient;
}

const at = (iso: string) => new Date(iso);

/** Seeds the books; returns the ids the tests open. */
export async function seedConsoleBooks(db: Kysely<BooksDatabase>) {
  const now = new Date();
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const recent = (daysAgo: number) => new Date(now.getTime() - daysAgo * 86_400_000);
  const sub = (id: string, merchant: string, customer: string, status: string, amount: number) => ({
    subscription_id: id,
    merchant_id: merchant,
    customer_id: customer,
    status,
    plan_id: 'pro-monthly',
    currency: 'EUR',
    amount_minor: amount,
    plan: JSON.stringify({
      planId: 'pro-monthly',
      currency: 'EUR',
      lineItems: [{ name: 'Pro plan', priceMinor: amount, quantity: 1 }],
    }),
    pending_plan: null,
    schedule: JSON.stringify({ intervalUnit: 'month', intervalCount: 1, anchor: '2027-01-01T00:00:00.000Z' }),
    next_period_index: 2,
    cancel_at_period_end: false,
    canceled_at: null,
    created_at: recent(40),
    observed_at: recent(1),
  });
  await db
    .insertInto('subscriptions')
    .values([
      sub('sub_alpha', 'shop-a', 'cust-alice', 'active', 1999),
      sub('sub_hostile', 'shop-a', HOSTILE_CUSTOMER, 'past_due', 4900),
      sub('sub_formula', 'shop-a', FORMULA_CUSTOMER, 'active', 990),
      sub('sub_bravo', 'shop-b', 'cust-bob', 'active', 2500),
    ])
    .execute();
  for (let i = 0; i < 30; i++) {
    await db
      .insertInto('subscriptions')
      .values(
        sub(
          `sub_bulk_${String(i).padStart(3, '0')}`,
          'shop-a',
          `cust-bulk-${i}`,
          i % 7 === 0 ? 'paused' : 'active',
          1000 + i,
        ),
      )
      .execute();
  }
  const cycle = (
    sub: string,
    merchant: string,
    customer: string,
    i: number,
    status: string,
    extra: Record<string, unknown> = {},
  ) => ({
    cycle_id: `cycle:${sub}:${i}`,
    subscription_id: sub,
    merchant_id: merchant,
    customer_id: customer,
    period_index: i,
    period_start: recent(30 - i * 15),
    period_end: recent(15 - i * 15),
    status,
    purchase_id: `pur_${sub}_${i}`,
    currency: 'EUR',
    amount_minor: 1999,
    attempts: 1,
    paid_at: null,
    failure_reason: null,
    observed_at: recent(2),
    ...extra,
  });
  await db
    .insertInto('cycles')
    .values([
      cycle('sub_alpha', 'shop-a', 'cust-alice', 0, 'paid', { paid_at: recent(3), attempts: 2 }),
      cycle('sub_hostile', 'shop-a', HOSTILE_CUSTOMER, 0, 'action_required', {
        attempts: 2,
        failure_reason: '<b>card declined</b> do_not_honor',
      }),
      cycle('sub_formula', 'shop-a', FORMULA_CUSTOMER, 0, 'paid', { paid_at: recent(2) }),
      cycle('sub_bravo', 'shop-b', 'cust-bob', 0, 'paid', { paid_at: recent(2) }),
    ])
    .execute();
  const invoice = (sub: string, merchant: string, customer: string, number: number, total: number) => ({
    invoice_id: `inv_${sub}_0`,
    merchant_id: merchant,
    number,
    cycle_id: `cycle:${sub}:0`,
    subscription_id: sub,
    customer_id: customer,
    purchase_id: `pur_${sub}_0`,
    status: 'paid' as const,
    currency: 'EUR',
    period_start: recent(30),
    period_end: recent(15),
    subtotal_minor: total,
    discount_minor: 0,
    tax_minor: 0,
    total_minor: total,
    paid_minor: total,
    issued_at: new Date(Math.max(monthStart.getTime(), recent(3).getTime())),
    paid_at: recent(3),
    closed_at: null,
    observed_at: recent(3),
  });
  await db
    .insertInto('invoices')
    .values([
      invoice('sub_alpha', 'shop-a', 'cust-alice', 1, 1999),
      invoice('sub_formula', 'shop-a', FORMULA_CUSTOMER, 2, 990),
      invoice('sub_bravo', 'shop-b', 'cust-bob', 1, 2500),
    ])
    .execute();
  await db
    .insertInto('invoice_lines')
    .values(
      ['sub_alpha', 'sub_formula', 'sub_bravo'].map((s) => ({
        invoice_id: `inv_${s}_0`,
        position: 0,
        description: 'Pro plan',
        quantity: 1,
        unit_price_minor: s === 'sub_alpha' ? 1999 : s === 'sub_formula' ? 990 : 2500,
        amount_minor: s === 'sub_alpha' ? 1999 : s === 'sub_formula' ? 990 : 2500,
      })),
    )
    .execute();
  const payment = (sub: string, merchant: string, kind: 'charge' | 'refund', amount: number, daysAgo: number) => ({
    payment_key: `${kind}:${sub}:0`,
    kind,
    merchant_id: merchant,
    subscription_id: sub,
    cycle_id: `cycle:${sub}:0`,
    invoice_id: `inv_${sub}_0`,
    purchase_id: `pur_${sub}_0`,
    gateway_payment_id: null,
    amount_minor: amount,
    currency: 'EUR',
    occurred_at: recent(daysAgo),
  });
  await db
    .insertInto('payments')
    .values([
      payment('sub_alpha', 'shop-a', 'charge', 1999, 3),
      payment('sub_alpha', 'shop-a', 'refund', 500, 1),
      payment('sub_formula', 'shop-a', 'charge', 990, 2),
      payment('sub_bravo', 'shop-b', 'charge', 2500, 2),
    ])
    .execute();
  await db
    .insertInto('credit_notes')
    .values({
      credit_note_id: 'cn_sub_alpha_0',
      merchant_id: 'shop-a',
      number: 1,
      invoice_id: 'inv_sub_alpha_0',
      payment_key: 'refund:sub_alpha:0',
      kind: 'refund',
      amount_minor: 500,
      currency: 'EUR',
      issued_at: recent(1),
    })
    .execute();
  await db
    .insertInto('change_trail')
    .values({
      entity_id: 'sub_alpha',
      change_key: 'refund-1',
      merchant_id: 'shop-a',
      kind: 'refund',
      key_id: 'shop-a-key',
      at: recent(1),
      detail: JSON.stringify({ amountMinor: 500 }),
    })
    .execute();
  return { monthStart, at };
}

/** A Fastify app serving only the console (as buildApiServer registers it), over `db`. */
export async function buildConsoleApp(
  db: Kysely<BooksDatabase>,
  billing: BillingClient,
  opts: { temporalUiUrl?: string } = {},
): Promise<FastifyInstance> {
  const logger: FastifyBaseLogger = pino({ level: 'silent' });
  const app = Fastify({ loggerInstance: logger, routerOptions: { maxParamLength: 200 } });
  await app.register(async (scope) =>
    consolePlugin(scope, {
      db,
      billing,
      keyFor: apiKeyMatcher(KEYS),
      sessionKey: Buffer.alloc(32, 3),
      secureCookie: false,
      seller: { name: 'Console Test Seller', address: ['1 Test Street'] },
      namespace: 'default',
      temporalUiUrl: opts.temporalUiUrl ?? 'http://127.0.0.1:8233',
    }),
  );
  await app.ready();
  return app;
}
