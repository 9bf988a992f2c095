/**
 * The overview: MRR and active subscriptions by currency, money collected and returned this month, failed payments,
 * the recovery rate, a bar chart of money collected per day (server-rendered SVG, no script), and the attention queue
 * with the action that resolves each item.
 */
import { html, type SafeHtml } from './html';
import { amount, badge, day, table, when } from './layout';
import type { AttentionItem, ConsoleBackend } from './backend';
import type { BillingRate, OverviewFigures } from '../records/console-readers';

type Overview = Awaited<ReturnType<ConsoleBackend['overview']>>;

/** Monthly value of a billing rate (a year is 12 months; weeks and days by their average count in a month). */
export function monthlyMinor(r: BillingRate): number {
  const per = Math.max(1, r.intervalCount);
  const perMonth: Record<string, number> = { month: 1, year: 1 / 12, week: 52 / 12, day: 365 / 12, minute: 43_800 };
  return Math.round((r.amountMinor * (perMonth[r.intervalUnit] ?? 1)) / per);
}

export function mrrByCurrency(f: OverviewFigures): { currency: string; mrrMinor: number; subscriptions: number }[] {
  const by = new Map<string, { mrrMinor: number; subscriptions: number }>();
  for (const r of f.billingRates) {
    const cur = by.get(r.currency) ?? { mrrMinor: 0, subscriptions: 0 };
    cur.mrrMinor += monthlyMinor(r);
    cur.subscriptions += r.subscriptions;
    by.set(r.currency, cur);
  }
  return [...by].map(([currency, v]) => ({ currency, ...v }));
}

/** Bars of money collected per day for one currency over `days` days ending today. */
export function dailyChart(f: OverviewFigures, currency: string, since: Date, days: number): SafeHtml {
  const values = new Map(f.dailyCollected.filter((d) => d.currency === currency).map((d) => [d.day, d.amountMinor]));
  const series = Array.from({ length: days }, (_, i) => {
    const d = day(new Date(since.getTime() + i * 86_400_000));
    return { day: d, minor: values.get(d) ?? 0 };
  });
  const max = Math.max(1, ...series.map((s) => s.minor));
  const W = 720;
  const H = 180;
  const left = 56;
  const bottom = 22;
  const bw = (W - left - 8) / days;
  const bars = series.map((s, i) => {
    const h = Math.round(((H - bottom - 10) * s.minor) / max);
    return html`<rect
      class="bar"
      x="${(left + i * bw + 1).toFixed(1)}"
      y="${H - bottom - h}"
      width="${Math.max(1, bw - 2).toFixed(1)}"
      height="${h}"
      ><title>${s.day}: ${amount(s.minor, currency)}</title></rect
    >`;
  });
  const first = series[0]?.day ?? '';
  const last = series[series.length - 1]?.day ?? '';
  return html`<figure class="chart">
    <svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Money collected per day in ${currency}, ${first} to ${last}">
      <line class="axis" x1="${left}" y1="${H - bottom}" x2="${W - 4}" y2="${H - bottom}"></line>
      <line class="axis" x1="${left}" y1="6" x2="${left}" y2="${H - bottom}"></line>
      <text x="${left - 4}" y="14" text-anchor="end">${amount(max, currency).split(' ')[0]}</text>
      <text x="${left - 4}" y="${H - bottom}" text-anchor="end">0</text>
      ${bars}
      <text x="${left}" y="${H - 6}">${first}</text>
      <text x="${W - 4}" y="${H - 6}" text-anchor="end">${last}</text>
    </svg>
    <figcaption>Collected per day, ${currency} (last ${days} days)</figcaption>
  </figure>`;
}

export function attentionTable(items: AttentionItem[]): SafeHtml {
  return table(
    ['What', 'Detail', 'Subscription', 'Since', 'Resolve'],
    items.map(
      (i) =>
        html`<tr>
          <td>${i.what}</td>
          <td>${i.detail}</td>
          <td><a href="/console/subscriptions/${encodeURIComponent(i.subscriptionId)}">${i.subscriptionId}</a></td>
          <td>${when(i.since)}</td>
          <td><a href="${i.resolve.href}">${i.resolve.label}</a></td>
        </tr>`,
    ),
    'Nothing needs a person right now.',
  );
}

export function overviewPage(o: Overview): SafeHtml {
  const f = o.figures;
  const mrr = mrrByCurrency(f);
  const active = f.subscriptionsByStatus.find((s) => s.status === 'active')?.count ?? 0;
  const attempted = f.recovered + f.unrecovered;
  const recovery = attempted ? `${Math.round((100 * f.recovered) / attempted)} %` : '—';
  const list = (xs: { currency: string; amountMinor: number }[]) =>
    xs.length
      ? xs.map((x) => html`<p class="figure">${amount(x.amountMinor, x.currency)}</p>`)
      : html`<p class="figure">—</p>`;
  const days = Math.round((Date.now() - o.chartSince.getTime()) / 86_400_000) + 1;
  const currencies = [...new Set([...mrr.map((m) => m.currency), ...f.dailyCollected.map((d) => d.currency)])];
  return html`<h1>Overview</h1>
    <section class="cards" aria-label="Figures">
      <div class="card">
        <h2>MRR</h2>
        ${mrr.length ? mrr.map((m) => html`<p class="figure">${amount(m.mrrMinor, m.currency)} <small>${m.subscriptions} billing</small></p>`) : html`<p class="figure">—</p>`}
      </div>
      <div class="card">
        <h2>Active subscriptions</h2>
        <p class="figure">${active}</p>
        <p class="hint">
          ${f.subscriptionsByStatus.map((s) => `${s.status.replace(/_/g, ' ')} ${s.count}`).join(' · ')}
        </p>
      </div>
      <div class="card">
        <h2>Collected since ${day(o.monthStart)}</h2>
        ${list(f.collected)}
      </div>
      <div class="card">
        <h2>Refunded and charged back</h2>
        ${list(f.returned)}
      </div>
      <div class="card">
        <h2>Failed payments</h2>
        <p class="figure">${f.failedCycles} <small>cycles this month</small></p>
      </div>
      <div class="card">
        <h2>Recovery rate</h2>
        <p class="figure">${recovery} <small>${f.recovered} recovered by a retry</small></p>
      </div>
    </section>
    <h2>Collected over time</h2>
    ${currencies.length ? currencies.map((c) => dailyChart(f, c, o.chartSince, Math.min(60, Math.max(1, days)))) : html`<p class="empty">No money collected yet.</p>`}
    <h2 id="attention">Needs attention ${badge(String(o.attention.length))}</h2>
    ${attentionTable(o.attention)}`;
}
