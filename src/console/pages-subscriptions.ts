/**
 * Subscriptions: the list (search by the start of an id or customer, filters by status and plan, keyset pages) and a
 * subscription's page (terms, status and next charge, cycles with attempts and outcome, invoices and credit notes,
 * payments, the change trail, and its actions).
 */
import { html, type SafeHtml } from './html';
import { amount, badge, pager, paths, table, when } from './layout';
import { ACTIONS, type ConsoleBackend } from './backend';
import type { Page } from '../records/readers';
import type { SubscriptionRow } from '../records/schema';

export const SUBSCRIPTION_STATUSES = ['active', 'past_due', 'unpaid', 'paused', 'canceled'] as const;

export interface SubscriptionFilters {
  q?: string | undefined;
  status?: string | undefined;
  plan?: string | undefined;
}

export function subscriptionsPage(f: SubscriptionFilters, p: Page<SubscriptionRow>, showMerchant: boolean): SafeHtml {
  const rows = p.items.map(
    (s) =>
      html`<tr>
        <td><a href="${paths.subscription(s.subscription_id)}">${s.subscription_id}</a></td>
        ${showMerchant ? html`<td>${s.merchant_id}</td>` : ''}
        <td>${s.customer_id}</td>
        <td>${badge(s.status)}${s.cancel_at_period_end ? ' (cancels at period end)' : ''}</td>
        <td>${s.plan_id}</td>
        <td class="num">${amount(s.amount_minor, s.currency)}</td>
        <td>${when(s.observed_at)}</td>
      </tr>`,
  );
  return html`<h1>Subscriptions</h1>
    <form method="get" action="${paths.subscriptions}" class="filters" role="search">
      <div>
        <label for="q">Subscription or customer (starts with)</label><input id="q" name="q" value="${f.q ?? ''}" />
      </div>
      <div>
        <label for="status">Status</label
        ><select id="status" name="status">
          <option value="">Any</option>
          ${SUBSCRIPTION_STATUSES.map((s) => html`<option value="${s}" ${f.status === s ? html` selected` : ''}>${s.replace(/_/g, ' ')}</option>`)}
        </select>
      </div>
      <div><label for="plan">Plan id</label><input id="plan" name="plan" value="${f.plan ?? ''}" /></div>
      <button type="submit">Search</button>
    </form>
    ${table(
      [
        'Subscription',
        ...(showMerchant ? ['Merchant'] : []),
        'Customer',
        'Status',
        'Plan',
        'Per period',
        'Last change',
      ],
      rows,
      'No subscription matches.',
    )}
    ${pager(paths.subscriptions, { q: f.q, status: f.status, plan: f.plan }, p.nextCursor)}`;
}

type SubscriptionData = NonNullable<Awaited<ReturnType<ConsoleBackend['subscription']>>>;

export function subscriptionPage(d: SubscriptionData, operator: boolean): SafeHtml {
  const s = d.row;
  const live = d.live;
  const schedule = s.schedule as { intervalUnit?: string; intervalCount?: number };
  const plan = (live?.plan ?? s.plan) as {
    planId?: string;
    lineItems?: { name: string; priceMinor: number; quantity: number }[];
  };
  const actions = ACTIONS.filter((a) => a.target === 'subscription' && (!a.operatorOnly || operator));
  const cycleRows = d.cycles.map(
    (c) =>
      html`<tr>
        <td><a href="${paths.cycle(c.cycle_id)}">${c.period_index}</a></td>
        <td>${c.period_start.toISOString().slice(0, 10)} → ${c.period_end.toISOString().slice(0, 10)}</td>
        <td>${badge(c.status)}</td>
        <td class="num">${c.attempts}</td>
        <td class="num">${amount(c.amount_minor, c.currency)}</td>
        <td>${c.failure_reason ?? ''}</td>
      </tr>`,
  );
  const invoiceRows = d.invoices.map(
    (i) =>
      html`<tr>
        <td>${i.number}</td>
        <td>${badge(i.status)}</td>
        <td>${i.period_start.toISOString().slice(0, 10)} → ${i.period_end.toISOString().slice(0, 10)}</td>
        <td class="num">${amount(i.total_minor, i.currency)}</td>
        <td class="num">${amount(i.paid_minor, i.currency)}</td>
        <td>
          <a href="${paths.invoiceHtml(i.invoice_id)}">HTML</a> · <a href="${paths.invoicePdf(i.invoice_id)}">PDF</a>
        </td>
      </tr>`,
  );
  const creditRows = d.creditNotes.map(
    (c) =>
      html`<tr>
        <td>${c.number}</td>
        <td>${c.kind}</td>
        <td class="num">${amount(c.amount_minor, c.currency)}</td>
        <td>${when(c.issued_at)}</td>
        <td>
          <a href="${paths.creditNoteHtml(c.credit_note_id)}">HTML</a> ·
          <a href="${paths.creditNotePdf(c.credit_note_id)}">PDF</a>
        </td>
      </tr>`,
  );
  return html`<p><a href="${paths.subscriptions}">← Subscriptions</a></p>
    <h1>Subscription ${s.subscription_id} ${badge(live?.status ?? s.status)}</h1>
    <dl class="terms">
      <dt>Customer</dt>
      <dd>${s.customer_id}</dd>
      <dt>Merchant</dt>
      <dd>${s.merchant_id}</dd>
      <dt>Plan</dt>
      <dd>
        ${plan.planId ?? s.plan_id}:
        ${(plan.lineItems ?? []).map((l) => `${l.quantity} × ${l.name} at ${amount(l.priceMinor, s.currency)}`).join('; ')}
      </dd>
      <dt>Per period</dt>
      <dd>
        ${amount(s.amount_minor, s.currency)} every ${schedule.intervalCount ?? 1} ${schedule.intervalUnit ?? ''}(s)
      </dd>
      ${
        live?.pendingPlan
          ? html`<dt>Next plan</dt>
              <dd>${live.pendingPlan.planId} from the next period</dd>`
          : ''
      }
      <dt>Next charge</dt>
      <dd>
        ${live?.nextChargeAt ? when(live.nextChargeAt) : '—'} (period ${live?.nextPeriodIndex ?? s.next_period_index})
      </dd>
      <dt>Card</dt>
      <dd>${live?.paymentMethod ?? '—'}</dd>
      <dt>Cancel</dt>
      <dd>
        ${s.cancel_at_period_end ? 'at the end of the current period' : s.canceled_at ? `canceled ${when(s.canceled_at)}` : 'not asked'}
      </dd>
      <dt>Created</dt>
      <dd>${when(s.created_at)}</dd>
    </dl>
    ${d.liveError ? html`<p class="hint">Live state unavailable (${d.liveError}); showing the books.</p>` : ''}
    <h2>Actions</h2>
    <ul class="actions">
      ${actions.map((a) => html`<li><a href="${paths.action('subscription', s.subscription_id, a.name)}">${a.label}</a></li>`)}
    </ul>
    <h2>Cycles</h2>
    ${table(['Period', 'Dates', 'Status', 'Attempts', 'Amount', 'Failure'], cycleRows, 'No cycle yet.')}
    <h2>Invoices</h2>
    ${table(['Number', 'Status', 'Period', 'Total', 'Paid', 'Document'], invoiceRows, 'No invoice yet.')}
    <h2>Credit notes</h2>
    ${table(['Number', 'Kind', 'Amount', 'Issued', 'Document'], creditRows, 'No credit note.')}
    <h2>Payments</h2>
    ${paymentsTable(d.payments)}
    <h2>Change trail</h2>
    ${trailTable(d.trail)}`;
}

export function paymentsTable(
  payments: {
    payment_key: string;
    kind: string;
    cycle_id: string;
    purchase_id: string;
    amount_minor: number;
    currency: string;
    occurred_at: Date;
    subscription_id: string;
  }[],
  withSubscription = false,
): SafeHtml {
  return table(
    ['When', 'Kind', ...(withSubscription ? ['Subscription'] : []), 'Cycle', 'Purchase', 'Amount'],
    payments.map(
      (p) =>
        html`<tr>
          <td>${when(p.occurred_at)}</td>
          <td>${p.kind.replace(/_/g, ' ')}</td>
          ${withSubscription ? html`<td><a href="${paths.subscription(p.subscription_id)}">${p.subscription_id}</a></td>` : ''}
          <td><a href="${paths.cycle(p.cycle_id)}">${p.cycle_id}</a></td>
          <td>${p.purchase_id}</td>
          <td class="num">${amount(p.amount_minor, p.currency)}</td>
        </tr>`,
    ),
    'No payment yet.',
  );
}

export function trailTable(
  trail: { at: Date; entity_id: string; kind: string; key_id: string; detail: unknown }[],
): SafeHtml {
  return table(
    ['When', 'What', 'Of', 'By key', 'Detail'],
    trail.map(
      (t) =>
        html`<tr>
          <td>${when(t.at)}</td>
          <td>${t.kind.replace(/_/g, ' ')}</td>
          <td>${t.entity_id}</td>
          <td>${t.key_id}</td>
          <td>${t.detail === null || t.detail === undefined ? '' : JSON.stringify(t.detail)}</td>
        </tr>`,
    ),
    'No change recorded.',
  );
}
