/**
 * A cycle's page (its timeline in billing words, Purchases, settlement per target, a link to its run in the Temporal
 * UI), the payments list across subscriptions, the invoices page with the finance CSV export, and the sign-in page.
 */
import type { FieldIssue } from '@temporal-billing/client/schemas';
import { html, type SafeHtml } from './html';
import { amount, badge, csrfField, day, fieldError, issuesList, pager, paths, table, when } from './layout';
import { ACTIONS, type ConsoleBackend } from './backend';
import { paymentsTable, trailTable } from './pages-subscriptions';
import type { Page } from '../records/readers';
import type { InvoiceRow, PaymentRow } from '../records/schema';

type CycleData = NonNullable<Awaited<ReturnType<ConsoleBackend['cycle']>>>;

const card = (token: string | undefined) => (token ? `card …${token.slice(-4)}` : 'the card on file');

/** The cycle's story, oldest first, from the live state when the run is open and from the books otherwise. */
export function timeline(d: CycleData): { at: string | Date | undefined; text: string }[] {
  const c = d.row;
  const out: { at: string | Date | undefined; text: string }[] = [
    { at: c.period_start, text: `Created for period ${c.period_index}, ${amount(c.amount_minor, c.currency)}` },
  ];
  const state = d.live?.state;
  state?.attempts.forEach((a, i) => {
    const what =
      a.outcome === 'paid'
        ? 'paid'
        : a.outcome === 'pending'
          ? 'pending at the gateway'
          : `declined${a.code ? ` (${a.code}${a.declineClass ? `, ${a.declineClass}` : ''})` : ''}`;
    out.push({ at: a.at, text: `Charge attempt ${i + 1} with ${card(a.token)}: ${what}` });
  });
  if (state?.lastDecline) out.push({ at: undefined, text: `Last decline: ${state.lastDecline.message}` });
  if (state?.nextAttemptAt) out.push({ at: state.nextAttemptAt, text: 'Retry scheduled' });
  if (state?.actionRequiredUntil) {
    out.push({ at: state.actionRequiredUntil, text: 'Waiting for a new card until this time' });
  }
  if (state?.pendingSince) out.push({ at: state.pendingSince, text: 'Pending at the gateway since' });
  if (!state) {
    out.push({ at: c.observed_at, text: `${c.attempts} attempt(s); now ${c.status.replace(/_/g, ' ')}` });
  }
  if (c.failure_reason) out.push({ at: c.observed_at, text: `Failed: ${c.failure_reason}` });
  if (c.paid_at) out.push({ at: c.paid_at, text: c.status === 'marked_paid' ? 'Marked paid' : 'Paid' });
  for (const p of d.payments.filter((x) => x.kind === 'refund' || x.kind === 'chargeback')) {
    out.push({
      at: p.occurred_at,
      text: `${p.kind === 'refund' ? 'Refunded' : 'Charged back'} ${amount(p.amount_minor, p.currency)}`,
    });
  }
  return out;
}

export function cyclePage(d: CycleData, operator: boolean, temporalLink: string | undefined): SafeHtml {
  const c = d.row;
  const state = d.live?.state;
  const purchases = state?.purchaseIds ?? d.live?.result?.purchaseIds ?? (c.purchase_id ? [c.purchase_id] : []);
  const actions = ACTIONS.filter((a) => a.target === 'cycle' && (!a.operatorOnly || operator));
  return html`<p><a href="${paths.subscription(c.subscription_id)}">← Subscription ${c.subscription_id}</a></p>
    <h1>Cycle ${c.period_index} of ${c.subscription_id} ${badge(d.live?.status ?? c.status)}</h1>
    <dl class="terms">
      <dt>Period</dt>
      <dd>${day(c.period_start)} → ${day(c.period_end)}</dd>
      <dt>Amount</dt>
      <dd>${amount(c.amount_minor, c.currency)}</dd>
      <dt>Purchases</dt>
      <dd>${purchases.length ? purchases.join(', ') : '—'}</dd>
      <dt>Invoice</dt>
      <dd>
        ${d.invoice ? html`number ${d.invoice.number}: <a href="${paths.invoiceHtml(d.invoice.invoice_id)}">HTML</a> · <a href="${paths.invoicePdf(d.invoice.invoice_id)}">PDF</a>` : '—'}
      </dd>
      <dt>In Temporal</dt>
      <dd>
        ${temporalLink ? html`<a href="${temporalLink}">How this cycle ran (Temporal UI)</a>` : 'TEMPORAL_UI_URL is not set'}
      </dd>
    </dl>
    ${d.liveError ? html`<p class="hint">Live state unavailable (${d.liveError}); showing the books.</p>` : ''}
    <h2>Actions</h2>
    <ul class="actions">
      ${actions.map((a) => html`<li><a href="${paths.action('cycle', c.cycle_id, a.name)}">${a.label}</a></li>`)}
    </ul>
    <h2>Timeline</h2>
    <ol class="timeline">
      ${timeline(d).map((t) => html`<li><time>${t.at === undefined ? '' : when(t.at)}</time>${t.text}</li>`)}
    </ol>
    <h2>Settlement</h2>
    ${table(
      ['Target', 'Status', 'Record', 'Error'],
      (state?.settlement ?? []).map(
        (s) =>
          html`<tr>
            <td>${s.target}</td>
            <td>${badge(s.status)}</td>
            <td>${s.externalId ?? ''}</td>
            <td>${s.error ?? ''}</td>
          </tr>`,
      ),
      state ? 'No settlement target.' : 'Settlement records are shown while the cycle runs (see the Temporal UI).',
    )}
    <h2>Payments</h2>
    ${paymentsTable(d.payments)}
    <h2>Change trail</h2>
    ${trailTable(d.trail)}`;
}

export function paymentsPage(p: Page<PaymentRow>): SafeHtml {
  return html`<h1>Payments</h1>
    ${paymentsTable(p.items, true)} ${pager(paths.payments, {}, p.nextCursor)}`;
}

export function invoicesPage(p: Page<InvoiceRow>, csv: { from: string; to: string; issues: FieldIssue[] }): SafeHtml {
  return html`<h1>Invoices</h1>
    <h2>Export a period (CSV)</h2>
    ${issuesList(csv.issues)}
    <form method="get" action="${paths.invoicesCsv}" class="filters">
      <div>
        <label for="from">Issued from (YYYY-MM-DD)</label
        ><input id="from" name="from" value="${csv.from}" required />${fieldError(csv.issues, 'from')}
      </div>
      <div>
        <label for="to">until, not including (YYYY-MM-DD)</label
        ><input id="to" name="to" value="${csv.to}" required />${fieldError(csv.issues, 'to')}
      </div>
      <button type="submit">Download CSV</button>
    </form>
    <h2>Latest invoices</h2>
    ${table(
      ['Number', 'Subscription', 'Customer', 'Status', 'Issued', 'Total', 'Document'],
      p.items.map(
        (i) =>
          html`<tr>
            <td>${i.number}</td>
            <td><a href="${paths.subscription(i.subscription_id)}">${i.subscription_id}</a></td>
            <td>${i.customer_id}</td>
            <td>${badge(i.status)}</td>
            <td>${when(i.issued_at)}</td>
            <td class="num">${amount(i.total_minor, i.currency)}</td>
            <td>
              <a href="${paths.invoiceHtml(i.invoice_id)}">HTML</a> ·
              <a href="${paths.invoicePdf(i.invoice_id)}">PDF</a>
            </td>
          </tr>`,
      ),
      'No invoice yet.',
    )}
    ${pager(paths.invoices, {}, p.nextCursor)}`;
}

export function loginPage(csrf: string, error?: string): SafeHtml {
  return html`<section class="login" aria-labelledby="login-title">
    <h1 id="login-title">Sign in to the billing console</h1>
    ${error ? html`<div class="error" role="alert"><p>${error}</p></div>` : ''}
    <form method="post" action="${paths.login}">
      ${csrfField(csrf)}
      <div class="field">
        <label for="apiKey">API key (a merchant key or an operator key)</label>
        <input
          id="apiKey"
          name="apiKey"
          type="password"
          autocomplete="current-password"
          required
          ${error ? html`aria-invalid="true" aria-describedby="apiKey-error"` : ''}
        />
        ${error ? html`<span class="field-error" id="apiKey-error">apiKey: ${error}</span>` : ''}
      </div>
      <button type="submit">Sign in</button>
    </form>
    <p class="hint">The key is kept in an encrypted, HTTP-only session cookie and never shown again.</p>
  </section>`;
}
