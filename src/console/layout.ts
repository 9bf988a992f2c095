/**
 * The console's page shell and the small pieces every page uses: navigation, the merchant switch, flash messages,
 * dates and money in words, field errors, and the hidden CSRF field. Everything is built with `html` (./html.ts), so
 * every interpolated string is escaped; no inline script or style (the CSP forbids both), only classes from
 * ./style.ts.
 */
import type { FieldIssue } from '@temporal-billing/client/schemas';
import { html, query, type HtmlValue, type SafeHtml } from './html';
import { money } from '../shared/ui-text';

export const CONSOLE_PREFIX = '/console';
export const CSS_PATH = `${CONSOLE_PREFIX}/assets/console.css`;

export const paths = {
  overview: CONSOLE_PREFIX,
  login: `${CONSOLE_PREFIX}/login`,
  logout: `${CONSOLE_PREFIX}/logout`,
  merchant: `${CONSOLE_PREFIX}/merchant`,
  subscriptions: `${CONSOLE_PREFIX}/subscriptions`,
  subscription: (id: string) => `${CONSOLE_PREFIX}/subscriptions/${encodeURIComponent(id)}`,
  cycle: (id: string) => `${CONSOLE_PREFIX}/cycles/${encodeURIComponent(id)}`,
  action: (target: 'subscription' | 'cycle', id: string, name: string) =>
    `${target === 'subscription' ? paths.subscription(id) : paths.cycle(id)}/actions/${encodeURIComponent(name)}`,
  payments: `${CONSOLE_PREFIX}/payments`,
  invoices: `${CONSOLE_PREFIX}/invoices`,
  invoicesCsv: `${CONSOLE_PREFIX}/invoices.csv`,
  // The documents of /v1/invoices/:id/invoice.html and .pdf, rendered by the same code for the signed-in session (a
  // browser link cannot send the bearer key the /v1 routes ask for).
  invoiceHtml: (id: string) => `${CONSOLE_PREFIX}/invoices/${encodeURIComponent(id)}/invoice.html`,
  invoicePdf: (id: string) => `${CONSOLE_PREFIX}/invoices/${encodeURIComponent(id)}/invoice.pdf`,
  creditNoteHtml: (id: string) => `${CONSOLE_PREFIX}/credit-notes/${encodeURIComponent(id)}/credit-note.html`,
  creditNotePdf: (id: string) => `${CONSOLE_PREFIX}/credit-notes/${encodeURIComponent(id)}/credit-note.pdf`,
};

/** What the shell shows about who is signed in. */
export interface ShellViewer {
  keyId: string;
  operator: boolean;
  merchantScope: string | undefined;
  /** Operators: the merchants they may switch to. */
  merchants?: string[];
  csrf: string;
}

export interface PageOptions {
  title: string;
  viewer?: ShellViewer;
  /** Navigation entry to mark current. */
  section?: 'overview' | 'subscriptions' | 'payments' | 'invoices';
  flash?: string | undefined;
  body: HtmlValue;
}

export const csrfField = (token: string) => html`<input type="hidden" name="_csrf" value="${token}" />`;

function nav(v: ShellViewer, section: PageOptions['section']): SafeHtml {
  const item = (key: PageOptions['section'], href: string, label: string) =>
    html`<li><a href="${href}" ${section === key ? html` aria-current="page"` : ''}>${label}</a></li>`;
  const switcher = v.operator
    ? html`<form method="post" action="${paths.merchant}" class="switch">
        ${csrfField(v.csrf)}
        <label for="merchant">Merchant</label>
        <select id="merchant" name="merchant">
          <option value="" ${v.merchantScope === undefined ? html` selected` : ''}>All merchants</option>
          ${(v.merchants ?? []).map(
            (m) => html`<option value="${m}" ${m === v.merchantScope ? html` selected` : ''}>${m}</option>`,
          )}
        </select>
        <button type="submit">Switch</button>
      </form>`
    : html`<span class="who">Merchant ${v.merchantScope ?? ''}</span>`;
  return html`<header class="top">
    <a class="brand" href="${paths.overview}">Billing console</a>
    <nav aria-label="Main">
      <ul>
        ${item('overview', paths.overview, 'Overview')} ${item('subscriptions', paths.subscriptions, 'Subscriptions')}
        ${item('payments', paths.payments, 'Payments')} ${item('invoices', paths.invoices, 'Invoices')}
      </ul>
    </nav>
    <div class="session">
      ${switcher}
      <span class="who">key ${v.keyId}${v.operator ? ' (operator)' : ''}</span>
      <form method="post" action="${paths.logout}">${csrfField(v.csrf)}<button type="submit">Sign out</button></form>
    </div>
  </header>`;
}

export function page(o: PageOptions): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${o.title} · Billing console</title>
        <link rel="stylesheet" href="${CSS_PATH}" />
      </head>
      <body>
        ${o.viewer ? nav(o.viewer, o.section) : ''}
        <main id="main">${o.flash ? html`<p class="flash" role="status">${o.flash}</p>` : ''} ${o.body}</main>
      </body>
    </html> `.text;
}

/** `2027-01-31 14:05 UTC`, or a dash. */
export function when(d: Date | string | null | undefined): string {
  if (d === null || d === undefined) return '—';
  const date = typeof d === 'string' ? new Date(d) : d;
  return isNaN(date.getTime()) ? '—' : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export const day = (d: Date) => d.toISOString().slice(0, 10);

export const amount = (minor: number, currency: string) => money(minor, currency);

export const badge = (status: string) =>
  html`<span class="badge badge-${status.replace(/[^a-z_]/g, '')}">${status.replace(/_/g, ' ')}</span>`;

/** Field problems of a form, each naming its field; and the message of one field, for beside its input. */
export function issuesList(issues: FieldIssue[], message?: string): SafeHtml {
  if (!issues.length && !message) return html``;
  return html`<div class="error" role="alert">
    <p>Nothing was changed.${message ? html` ${message}` : ''}</p>
    ${
      issues.length
        ? html`<ul>
            ${issues.map((i) => html`<li><strong>${i.path || 'form'}</strong>: ${i.message}</li>`)}
          </ul>`
        : ''
    }
  </div>`;
}

export function fieldError(issues: FieldIssue[], name: string): SafeHtml {
  const i = issues.find((x) => x.path === name);
  return i ? html`<span class="field-error" id="${name}-error">${name}: ${i.message}</span>` : html``;
}

/** "Next page" for a keyset list, keeping its filters. */
export function pager(base: string, params: Record<string, string | undefined>, nextCursor: string | undefined) {
  return nextCursor
    ? html`<p class="pager"><a href="${base}${query({ ...params, cursor: nextCursor })}" rel="next">Next page →</a></p>`
    : html``;
}

export function table(headers: string[], rows: SafeHtml[], empty: string): SafeHtml {
  if (!rows.length) return html`<p class="empty">${empty}</p>`;
  return html`<div class="scroll">
    <table>
      <thead>
        <tr>
          ${headers.map((h) => html`<th scope="col">${h}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
  </div>`;
}
