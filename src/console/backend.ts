/**
 * What the console reads and does. Reads come from the records store (./records readers, scoped to the viewer's
 * merchant) and, for what only Temporal knows now (a cycle's attempts, a subscription's next charge), from the
 * user's BillingClient. Every change goes through that BillingClient with the user's key and an Idempotency-Key:
 * the console adds no second way to change money, and each change lands in the change trail with the key's id.
 */
import type { Kysely } from 'kysely';
import { type BillingClient, type CycleView, isBillingError } from '@temporal-billing/client';
import type { BillingOperator } from '@temporal-billing/client/engine';
import type { FieldIssue } from '@temporal-billing/client/schemas';
import { createBooksReader } from '../records/readers';
import { createConsoleReader } from '../records/console-readers';
import type { BooksDatabase, CycleRow, SubscriptionRow } from '../records/schema';
import { majorToMinor, minorToMajorString } from '../domain/money';
import type { SubscriptionState } from '../shared/subscription';
import { money } from '../shared/ui-text';

/** Who is looking: the logged-in key, whose books the pages show, and the client that acts with that key. */
export interface ConsoleViewer {
  keyId: string;
  operator: boolean;
  /** The key's merchant; for operators the merchant they picked, or undefined for every merchant. */
  merchantScope: string | undefined;
  billing: BillingClient;
}

export interface ConsoleBackendOptions {
  db: Kysely<BooksDatabase>;
  /** The Temporal UI's base URL (e.g. http://127.0.0.1:8233); absent: no links to it. */
  temporalUiUrl?: string;
  namespace: string;
  /** Finds running paid cycles across merchants for the settlement-failure queue; absent: that queue is empty. */
  operator?: Pick<BillingOperator, 'runningCycleIds'>;
}

export type ActionTarget = 'subscription' | 'cycle';

/** What an action needs from the page it is started on. */
export interface ActionContext {
  subscription?: SubscriptionRow;
  cycle?: CycleRow;
}

export interface ActionSpec<I = unknown> {
  name: string;
  label: string;
  target: ActionTarget;
  operatorOnly?: boolean;
  /** The form fields (name, label, kind) the confirmation asks for. */
  fields: { name: string; label: string; kind: 'text' | 'select'; options?: [string, string][]; hint?: string }[];
  /** Reads the form; field problems name the form field. */
  parse(form: Record<string, string>, ctx: ActionContext): { ok: true; input: I } | { ok: false; issues: FieldIssue[] };
  /** What will move, in one sentence. */
  describe(input: I, ctx: ActionContext): string;
  run(billing: BillingClient, id: string, input: I, idempotencyKey: string, ctx: ActionContext): Promise<string>;
}

const text = (form: Record<string, string>, name: string): string | undefined => {
  const v = form[name]?.trim();
  return v ? v : undefined;
};

function amountField(
  form: Record<string, string>,
  name: string,
  currency: string,
): { ok: true; value: number | undefined } | { ok: false; issue: FieldIssue } {
  const raw = text(form, name);
  if (raw === undefined) return { ok: true, value: undefined };
  try {
    const minor = majorToMinor(raw, currency);
    if (minor <= 0) return { ok: false, issue: { path: name, message: 'must be more than zero' } };
    return { ok: true, value: minor };
  } catch (err) {
    return { ok: false, issue: { path: name, message: err instanceof Error ? err.message : String(err) } };
  }
}

const period = (c: CycleRow) =>
  `period ${c.period_index} (${c.period_start.toISOString().slice(0, 10)} → ${c.period_end.toISOString().slice(0, 10)})`;

const noInput = { parse: () => ({ ok: true as const, input: {} }) };

export const ACTIONS: ActionSpec<never>[] = [
  {
    name: 'cancel',
    label: 'Cancel',
    target: 'subscription',
    fields: [
      {
        name: 'mode',
        label: 'When',
        kind: 'select',
        options: [
          ['period_end', 'At the end of the current period'],
          ['now', 'Now'],
        ],
      },
      { name: 'reason', label: 'Reason (optional)', kind: 'text' },
    ],
    parse: (form) => {
      const mode = form.mode;
      if (mode !== 'now' && mode !== 'period_end') {
        return { ok: false, issues: [{ path: 'mode', message: 'choose "now" or "period_end"' }] };
      }
      const reason = text(form, 'reason');
      return { ok: true, input: { mode, ...(reason ? { reason } : {}) } };
    },
    describe: (i: { mode: string }, ctx) =>
      i.mode === 'now'
        ? `Cancels ${ctx.subscription?.subscription_id} now: no further charges; a charge already pending at the gateway may still complete.`
        : `Cancels ${ctx.subscription?.subscription_id} at the end of the current period: the period already billed runs out, nothing after it is charged.`,
    run: async (b, id, i: { mode: 'now' | 'period_end'; reason?: string }, key) => {
      const s = await b.subscriptions.cancel(id, i, { idempotencyKey: key });
      return s.cancelAtPeriodEnd ? 'Cancel at period end recorded.' : `Subscription is ${s.status}.`;
    },
  },
  {
    name: 'pause',
    label: 'Pause',
    target: 'subscription',
    fields: [],
    ...noInput,
    describe: (_i, ctx) => `Pauses ${ctx.subscription?.subscription_id}: no charges until it is resumed.`,
    run: async (b, id, _i, key) =>
      `Subscription is ${(await b.subscriptions.pause(id, { idempotencyKey: key })).status}.`,
  },
  {
    name: 'resume',
    label: 'Resume',
    target: 'subscription',
    fields: [],
    ...noInput,
    describe: (_i, ctx) => `Resumes ${ctx.subscription?.subscription_id}: billing continues with the next due period.`,
    run: async (b, id, _i, key) =>
      `Subscription is ${(await b.subscriptions.resume(id, { idempotencyKey: key })).status}.`,
  },
  {
    name: 'payment-method',
    label: 'New card',
    target: 'subscription',
    fields: [
      {
        name: 'recurringToken',
        label: 'Recurring token',
        kind: 'text',
        hint: 'the id of a paid QorePay Purchase made with is_recurring_token',
      },
    ],
    parse: (form) => {
      const t = text(form, 'recurringToken');
      return t
        ? { ok: true, input: { recurringToken: t } }
        : { ok: false, issues: [{ path: 'recurringToken', message: 'required' }] };
    },
    describe: (_i, ctx) =>
      `Charges ${ctx.subscription?.subscription_id} with the new card from the next attempt on (a cycle waiting for a new card is charged now).`,
    run: async (b, id, i: { recurringToken: string }, key) => {
      const s = await b.subscriptions.updatePaymentMethod(id, i.recurringToken, { idempotencyKey: key });
      return `Card is now ${s.paymentMethod}.`;
    },
  },
  {
    name: 'change-plan',
    label: 'Change plan',
    target: 'subscription',
    fields: [
      { name: 'planId', label: 'New plan id', kind: 'text' },
      { name: 'name', label: 'Line item name', kind: 'text' },
      { name: 'price', label: 'Price per period', kind: 'text', hint: 'in major units, e.g. 19.99' },
    ],
    parse: (form, ctx) => {
      const currency = ctx.subscription?.currency ?? 'EUR';
      const issues: FieldIssue[] = [];
      const planId = text(form, 'planId');
      const name = text(form, 'name');
      if (!planId) issues.push({ path: 'planId', message: 'required' });
      if (!name) issues.push({ path: 'name', message: 'required' });
      const price = amountField(form, 'price', currency);
      if (!price.ok) issues.push(price.issue);
      else if (price.value === undefined) issues.push({ path: 'price', message: 'required' });
      if (issues.length || !price.ok || price.value === undefined) return { ok: false, issues };
      return {
        ok: true,
        input: { planId: planId!, currency, lineItems: [{ name: name!, priceMinor: price.value, quantity: 1 }] },
      };
    },
    describe: (i: { planId: string; currency: string; lineItems: { priceMinor: number }[] }, ctx) =>
      `From the next period, ${ctx.subscription?.subscription_id} bills plan ${i.planId} at ${money(i.lineItems[0]!.priceMinor, i.currency)} per period (the current period is not changed).`,
    run: async (b, id, i: never, key) => {
      const s = await b.subscriptions.changePlan(id, i, { idempotencyKey: key });
      return `Plan ${s.pendingPlan?.planId ?? s.plan.planId} applies from the next period.`;
    },
  },
  {
    name: 'refund',
    label: 'Refund',
    target: 'cycle',
    fields: [
      {
        name: 'amount',
        label: 'Amount (empty: everything not yet refunded)',
        kind: 'text',
        hint: 'in major units, e.g. 5.00',
      },
      { name: 'reason', label: 'Reason (optional)', kind: 'text' },
    ],
    parse: (form, ctx) => {
      const a = amountField(form, 'amount', ctx.cycle?.currency ?? 'EUR');
      if (!a.ok) return { ok: false, issues: [a.issue] };
      const reason = text(form, 'reason');
      return {
        ok: true,
        input: { ...(a.value !== undefined ? { amountMinor: a.value } : {}), ...(reason ? { reason } : {}) },
      };
    },
    describe: (i: { amountMinor?: number }, ctx) => {
      const c = ctx.cycle!;
      return `Refunds ${i.amountMinor !== undefined ? money(i.amountMinor, c.currency) : 'everything not yet refunded'} of the ${money(c.amount_minor, c.currency)} paid for ${period(c)} to the customer's card, and issues a credit note.`;
    },
    run: async (b, cycleId, i: { amountMinor?: number; reason?: string }, key, ctx) => {
      const subscriptionId = /^cycle:(.+):\d+$/.exec(cycleId)?.[1] ?? '';
      const r = await b.subscriptions.refund(subscriptionId, { cycleId, ...i }, { idempotencyKey: key });
      return r.amountMinor !== undefined
        ? `Refund of ${money(r.amountMinor, ctx.cycle?.currency ?? '')} recorded; its credit note follows.`
        : 'Refund recorded; its credit note follows.';
    },
  },
  {
    name: 'retry-now',
    label: 'Retry now',
    target: 'cycle',
    fields: [],
    ...noInput,
    describe: (_i, ctx) => `Charges ${period(ctx.cycle!)} now instead of at its next scheduled attempt.`,
    run: async (b, id, _i, key) => `Cycle is ${(await b.cycles.retryNow(id, { idempotencyKey: key })).status}.`,
  },
  {
    name: 'retry-settlement',
    label: 'Retry settlement',
    target: 'cycle',
    operatorOnly: true,
    fields: [],
    ...noInput,
    describe: (_i, ctx) =>
      `Writes ${period(ctx.cycle!)} again into the settlement targets whose write failed (targets already recorded are not written twice).`,
    run: async (b, id, _i, key) => {
      const s = await b.cycles.retrySettlement(id, { idempotencyKey: key });
      return s.settlementFailed ? 'Settlement retried; a target still failed.' : 'Settlement recorded.';
    },
  },
  {
    name: 'mark-paid',
    label: 'Mark paid',
    target: 'cycle',
    operatorOnly: true,
    fields: [{ name: 'note', label: 'Note (how it was paid)', kind: 'text' }],
    parse: (form) => {
      const note = text(form, 'note');
      return { ok: true, input: note ? { note } : {} };
    },
    describe: (_i, ctx) =>
      `Ends ${period(ctx.cycle!)} as paid outside the gateway (${money(ctx.cycle!.amount_minor, ctx.cycle!.currency)}): no further charge is attempted for it.`,
    run: async (b, id, i: { note?: string }, key) =>
      `Cycle is ${(await b.cycles.markPaid(id, i, { idempotencyKey: key })).status}.`,
  },
] as ActionSpec<never>[];

export function actionByName(target: ActionTarget, name: string): ActionSpec<unknown> | undefined {
  return (ACTIONS as ActionSpec<unknown>[]).find((a) => a.target === target && a.name === name);
}

/** An error of an action, as the confirmation page shows it: field problems, or one message. */
export function actionError(err: unknown): { status: number; issues: FieldIssue[]; message?: string } {
  if (isBillingError(err)) {
    const issues = (err as { issues?: FieldIssue[] }).issues ?? [];
    const status =
      err.code === 'validation_failed' ? 400 : err.code === 'not_found' ? 404 : err.code === 'unavailable' ? 503 : 409;
    return { status, issues, ...(issues.length ? {} : { message: err.message }) };
  }
  throw err;
}

export interface AttentionItem {
  what: string;
  detail: string;
  since: Date;
  subscriptionId: string;
  cycleId?: string;
  /** The action that resolves it (a link to its confirmation, or to the page to act on). */
  resolve: { label: string; href: string };
}

const cyclePath = (id: string) => `/console/cycles/${encodeURIComponent(id)}`;
const subPath = (id: string) => `/console/subscriptions/${encodeURIComponent(id)}`;

/** How long a cycle may stay pending at the gateway before the queue calls it "pending too long". */
const PENDING_TOO_LONG_MS = 60 * 60_000;

export function createConsoleBackend(opts: ConsoleBackendOptions) {
  const books = createBooksReader(opts.db);
  const records = createConsoleReader(opts.db);

  /** Paid cycles still open because a settlement target failed (they stay open for a retry), from visibility. */
  async function settlementFailures(
    v: ConsoleViewer,
  ): Promise<{ cycleId: string; subscriptionId: string; error: string }[]> {
    let ids: string[];
    try {
      ids = (await opts.operator?.runningCycleIds(['paid', 'marked_paid'], 100)) ?? [];
    } catch {
      return [];
    }
    const mine = await records.cyclesByIds(v.merchantScope, ids);
    const out: { cycleId: string; subscriptionId: string; error: string }[] = [];
    for (const c of mine) {
      const view = await v.billing.cycles.get(c.cycle_id).catch(() => undefined);
      if (view?.state?.settlementFailed) {
        const failed = view.state.settlement.filter((s) => s.status === 'failed');
        out.push({
          cycleId: c.cycle_id,
          subscriptionId: c.subscription_id,
          error: failed.map((s) => `${s.target}: ${s.error ?? 'failed'}`).join('; ') || 'a target failed',
        });
      }
    }
    return out;
  }

  return {
    books,
    records,

    temporalLink(workflowId: string): string | undefined {
      if (!opts.temporalUiUrl) return undefined;
      return `${opts.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(opts.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
    },

    async overview(v: ConsoleViewer, now: Date) {
      const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
      const chartSince = new Date(now.getTime() - 29 * 86_400_000);
      chartSince.setUTCHours(0, 0, 0, 0);
      const figures = await records.overview(v.merchantScope, monthStart, chartSince);
      const attention = await this.attention(v, now);
      return { figures, monthStart, chartSince, attention };
    },

    async attention(v: ConsoleViewer, now: Date): Promise<AttentionItem[]> {
      const weekAgo = new Date(now.getTime() - 7 * 86_400_000);
      const [cycles, failed, escalated, settlement] = await Promise.all([
        records.cyclesNeedingAttention(v.merchantScope),
        records.failedCycles(v.merchantScope, weekAgo),
        records.escalatedSubscriptions(v.merchantScope),
        settlementFailures(v),
      ]);
      const items: AttentionItem[] = [];
      for (const s of settlement) {
        items.push({
          what: 'Settlement failed',
          detail: s.error,
          since: now,
          subscriptionId: s.subscriptionId,
          cycleId: s.cycleId,
          resolve: v.operator
            ? { label: 'Retry settlement', href: `${cyclePath(s.cycleId)}/actions/retry-settlement` }
            : { label: 'Open cycle (an operator retries it)', href: cyclePath(s.cycleId) },
        });
      }
      for (const c of cycles) {
        if (c.status === 'action_required') {
          items.push({
            what: 'Action required: the card was declined for good',
            detail: `${period(c)}, ${money(c.amount_minor, c.currency)}${c.failure_reason ? `: ${c.failure_reason}` : ''}`,
            since: c.observed_at,
            subscriptionId: c.subscription_id,
            cycleId: c.cycle_id,
            resolve: { label: 'New card', href: `${subPath(c.subscription_id)}/actions/payment-method` },
          });
        } else if (c.status === 'pending' && now.getTime() - c.observed_at.getTime() > PENDING_TOO_LONG_MS) {
          items.push({
            what: 'Pending too long at the gateway',
            detail: `${period(c)}, Purchase ${c.purchase_id ?? '(none)'}`,
            since: c.observed_at,
            subscriptionId: c.subscription_id,
            cycleId: c.cycle_id,
            resolve: v.operator
              ? { label: 'Mark paid (if the money arrived)', href: `${cyclePath(c.cycle_id)}/actions/mark-paid` }
              : { label: 'Open cycle', href: cyclePath(c.cycle_id) },
          });
        } else if (c.status === 'retry_scheduled') {
          items.push({
            what: 'Declined, retry scheduled',
            detail: `${period(c)}, ${c.attempts} attempt(s)${c.failure_reason ? `: ${c.failure_reason}` : ''}`,
            since: c.observed_at,
            subscriptionId: c.subscription_id,
            cycleId: c.cycle_id,
            resolve: { label: 'Retry now', href: `${cyclePath(c.cycle_id)}/actions/retry-now` },
          });
        }
      }
      for (const c of failed) {
        items.push({
          what: 'Cycle failed',
          detail: `${period(c)}, ${money(c.amount_minor, c.currency)}${c.failure_reason ? `: ${c.failure_reason}` : ''}`,
          since: c.observed_at,
          subscriptionId: c.subscription_id,
          cycleId: c.cycle_id,
          resolve: v.operator
            ? { label: 'Mark paid (if paid another way)', href: `${cyclePath(c.cycle_id)}/actions/mark-paid` }
            : { label: 'Open subscription', href: subPath(c.subscription_id) },
        });
      }
      for (const s of escalated) {
        items.push({
          what: s.status === 'unpaid' ? 'Subscription unpaid (escalated)' : 'Subscription past due',
          detail: `${s.customer_id}, plan ${s.plan_id}, ${money(s.amount_minor, s.currency)}`,
          since: s.observed_at,
          subscriptionId: s.subscription_id,
          resolve: { label: 'New card', href: `${subPath(s.subscription_id)}/actions/payment-method` },
        });
      }
      return items;
    },

    async subscription(v: ConsoleViewer, id: string) {
      const row = await books.getSubscription(v.merchantScope, id);
      if (!row) return undefined;
      const [cycles, payments, invoices, creditNotes] = await Promise.all([
        books.listCycles({ merchantId: v.merchantScope, subscriptionId: id, limit: 100 }),
        books.listPayments({ merchantId: v.merchantScope, subscriptionId: id, limit: 100 }),
        books.listInvoices({ merchantId: v.merchantScope, subscriptionId: id, limit: 100 }),
        records.creditNotesOfSubscription(v.merchantScope, id),
      ]);
      const trail = await records.changeTrail(v.merchantScope, [id, ...cycles.items.map((c) => c.cycle_id)]);
      let live: SubscriptionState | undefined;
      let liveError: string | undefined;
      try {
        live = await v.billing.subscriptions.get(id);
      } catch (err) {
        liveError = err instanceof Error ? err.message : String(err);
      }
      return {
        row,
        cycles: cycles.items,
        payments: payments.items,
        invoices: invoices.items,
        creditNotes,
        trail,
        live,
        liveError,
      };
    },

    async cycle(v: ConsoleViewer, cycleId: string) {
      const row = await records.getCycle(v.merchantScope, cycleId);
      if (!row) return undefined;
      const [invoice, payments, trail] = await Promise.all([
        books.getInvoiceOfCycle(cycleId),
        books.listPayments({ merchantId: v.merchantScope, subscriptionId: row.subscription_id, limit: 200 }),
        records.changeTrail(v.merchantScope, [cycleId]),
      ]);
      let live: CycleView | undefined;
      let liveError: string | undefined;
      try {
        live = await v.billing.cycles.get(cycleId);
      } catch (err) {
        liveError = err instanceof Error ? err.message : String(err);
      }
      return { row, invoice, payments: payments.items.filter((p) => p.cycle_id === cycleId), trail, live, liveError };
    },

    /** The context an action is confirmed in (the row it acts on), or undefined when the viewer cannot see it. */
    async actionContext(v: ConsoleViewer, target: ActionTarget, id: string): Promise<ActionContext | undefined> {
      if (target === 'subscription') {
        const subscription = await books.getSubscription(v.merchantScope, id);
        return subscription ? { subscription } : undefined;
      }
      const cycle = await records.getCycle(v.merchantScope, id);
      return cycle ? { cycle } : undefined;
    },

    /** A period's invoices as CSV (amounts in major units, one row per invoice). */
    async invoicesCsv(v: ConsoleViewer, from: Date, to: Date): Promise<string> {
      const rows = await records.invoicesIssued(v.merchantScope, from, to);
      const head = [
        'merchant_id',
        'number',
        'invoice_id',
        'status',
        'issued_at',
        'paid_at',
        'subscription_id',
        'customer_id',
        'period_start',
        'period_end',
        'currency',
        'subtotal',
        'discount',
        'tax',
        'total',
        'paid',
      ];
      // A text cell a spreadsheet would run as a formula (=, +, -, @, tab or CR first) gets a leading apostrophe:
      // quoting alone does not stop Excel or LibreOffice evaluating it. Numbers (amounts) are left as they are.
      const cell = (s: string) => {
        const guarded = /^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s) ? `'${s}` : s;
        return /[",\n\r]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
      };
      const lines = rows.map((r) =>
        [
          r.merchant_id,
          String(r.number),
          r.invoice_id,
          r.status,
          r.issued_at.toISOString(),
          r.paid_at?.toISOString() ?? '',
          r.subscription_id,
          r.customer_id,
          r.period_start.toISOString(),
          r.period_end.toISOString(),
          r.currency,
          minorToMajorString(r.subtotal_minor, r.currency),
          minorToMajorString(r.discount_minor, r.currency),
          minorToMajorString(r.tax_minor, r.currency),
          minorToMajorString(r.total_minor, r.currency),
          minorToMajorString(r.paid_minor, r.currency),
        ]
          .map(cell)
          .join(','),
      );
      return [head.join(','), ...lines].join('\r\n') + '\r\n';
    },
  };
}

export type ConsoleBackend = ReturnType<typeof createConsoleBackend>;
