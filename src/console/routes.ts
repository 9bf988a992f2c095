/**
 * The console's pages and actions (the plugin, ./plugin.ts, has already signed the viewer in): overview,
 * subscriptions, a subscription, a cycle, payments, invoices with the CSV export, the documents, and each action's
 * confirm-then-change through the viewer's BillingClient with the form's Idempotency-Key.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FieldIssue } from '@temporal-billing/client/schemas';
import {
  actionByName,
  actionError,
  type ActionContext,
  type ActionSpec,
  type ActionTarget,
  type ConsoleBackend,
} from './backend';
import { html } from './html';
import { paths } from './layout';
import { checkCsrf, type ConsoleRequestViewer, type SendPage } from './request';
import { overviewPage } from './pages-overview';
import { subscriptionPage, subscriptionsPage, SUBSCRIPTION_STATUSES } from './pages-subscriptions';
import { cyclePage, invoicesPage, paymentsPage } from './pages-cycles';
import { confirmPage } from './pages-actions';
import { creditNoteHtml, creditNotePdf, invoiceHtml, invoicePdf, type Seller } from '../records/documents';

export interface ConsoleRouteDeps {
  backend: ConsoleBackend;
  seller: Seller;
  sendPage: SendPage;
  viewerOf: (req: FastifyRequest) => ConsoleRequestViewer;
  formOf: (req: FastifyRequest) => Record<string, string>;
}

/** An Idempotency-Key as the confirmation form carries it (the API accepts 1-255 visible characters). */
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{8,128}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** Rows per page of the console's lists. */
const LIST_PAGE_SIZE = 25;

interface LoadedAction {
  v: ConsoleRequestViewer;
  spec: ActionSpec<unknown>;
  ctx: ActionContext;
}

type Query = Record<string, string | undefined>;
const q = (req: FastifyRequest): Query => {
  const raw = (req.query ?? {}) as Record<string, unknown>;
  const out: Query = {};
  for (const [k, v] of Object.entries(raw)) {
    const first = Array.isArray(v) ? (v[0] as unknown) : v;
    if (typeof first === 'string' && first.trim() !== '') out[k] = first.trim();
  }
  return out;
};

/** Documents keep their own inline styles (they are also sent by e-mail): their CSP allows those and nothing else. */
const DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

export function registerConsolePages(app: FastifyInstance, d: ConsoleRouteDeps): void {
  const { backend, sendPage, viewerOf } = d;
  const notFound = (req: FastifyRequest, reply: FastifyReply, what: string) =>
    sendPage(
      reply,
      404,
      'Not found',
      html`<h1>Not found</h1>
        <p>No ${what} that this key may see. <a href="${paths.overview}">Overview</a></p>`,
      req,
    );

  app.get(paths.overview, async (req, reply) => {
    const v = viewerOf(req);
    return sendPage(reply, 200, 'Overview', overviewPage(await backend.overview(v, new Date())), req);
  });

  app.post(paths.merchant, { preHandler: checkCsrf(app) }, async (req, reply) => {
    const v = viewerOf(req);
    const merchant = d.formOf(req).merchant ?? '';
    if (!v.operator) {
      return sendPage(
        reply,
        403,
        'Refused',
        html`<h1>Refused</h1>
          <p>Only operator keys switch merchant.</p>`,
        req,
      );
    }
    if (merchant !== '' && !(v.shell.merchants ?? []).includes(merchant)) {
      return sendPage(
        reply,
        400,
        'Unknown merchant',
        html`<h1>Unknown merchant</h1>
          <div class="error" role="alert">
            <p><strong>merchant</strong>: the books know no merchant ${JSON.stringify(merchant)}.</p>
          </div>`,
        req,
      );
    }
    req.session.set('merchant', merchant || undefined);
    return reply.code(303).header('location', paths.overview).send();
  });

  app.get(paths.subscriptions, async (req, reply) => {
    const v = viewerOf(req);
    const f = q(req);
    const status = SUBSCRIPTION_STATUSES.find((s) => s === f.status);
    const page = await backend.records.searchSubscriptions({
      merchantId: v.merchantScope,
      limit: LIST_PAGE_SIZE,
      ...(f.q ? { text: f.q } : {}),
      ...(status ? { status } : {}),
      ...(f.plan ? { planId: f.plan } : {}),
      ...(f.cursor ? { cursor: f.cursor } : {}),
    });
    const body = subscriptionsPage({ q: f.q, status, plan: f.plan }, page, v.merchantScope === undefined);
    return sendPage(reply, 200, 'Subscriptions', body, req);
  });

  app.get<{ Params: { id: string } }>(`${paths.subscriptions}/:id`, async (req, reply) => {
    const v = viewerOf(req);
    const data = await backend.subscription(v, req.params.id);
    if (!data) return notFound(req, reply, 'subscription');
    return sendPage(reply, 200, `Subscription ${data.row.subscription_id}`, subscriptionPage(data, v.operator), req);
  });

  app.get<{ Params: { id: string } }>('/console/cycles/:id', async (req, reply) => {
    const v = viewerOf(req);
    const data = await backend.cycle(v, req.params.id);
    if (!data) return notFound(req, reply, 'cycle');
    const body = cyclePage(data, v.operator, backend.temporalLink(data.row.cycle_id));
    return sendPage(reply, 200, `Cycle ${data.row.cycle_id}`, body, req);
  });

  app.get(paths.payments, async (req, reply) => {
    const v = viewerOf(req);
    const cursor = q(req).cursor;
    const page = await backend.books.listPayments({ merchantId: v.merchantScope, ...(cursor ? { cursor } : {}) });
    return sendPage(reply, 200, 'Payments', paymentsPage(page), req);
  });

  const monthBounds = () => {
    const now = new Date();
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
  };

  app.get(paths.invoices, async (req, reply) => {
    const v = viewerOf(req);
    const cursor = q(req).cursor;
    const page = await backend.books.listInvoices({ merchantId: v.merchantScope, ...(cursor ? { cursor } : {}) });
    return sendPage(reply, 200, 'Invoices', invoicesPage(page, { ...monthBounds(), issues: [] }), req);
  });

  app.get(paths.invoicesCsv, async (req, reply) => {
    const v = viewerOf(req);
    const f = q(req);
    const issues: FieldIssue[] = [];
    const dayOf = (name: 'from' | 'to'): Date | undefined => {
      const raw = f[name];
      const d = raw && DAY.test(raw) ? new Date(`${raw}T00:00:00Z`) : undefined;
      if (!d || isNaN(d.getTime())) {
        issues.push({ path: name, message: raw ? 'must be a date YYYY-MM-DD' : 'required (YYYY-MM-DD)' });
        return undefined;
      }
      return d;
    };
    const from = dayOf('from');
    const to = dayOf('to');
    if (from && to && to <= from) issues.push({ path: 'to', message: 'must be after from' });
    if (issues.length || !from || !to) {
      const page = await backend.books.listInvoices({ merchantId: v.merchantScope, limit: 20 });
      const body = invoicesPage(page, { from: f.from ?? '', to: f.to ?? '', issues });
      return sendPage(reply, 400, 'Invoices', body, req);
    }
    const csv = await backend.invoicesCsv(v, from, to);
    const name = `invoices-${f.from}-to-${f.to}${v.merchantScope ? `-${v.merchantScope.replace(/[^A-Za-z0-9_-]/g, '')}` : ''}.csv`;
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('cache-control', 'no-store')
      .send(csv);
  });

  // ---- documents (the same renderers as /v1/invoices/:id/invoice.html and .pdf) ----
  const invoiceDoc = (req: FastifyRequest<{ Params: { id: string } }>) =>
    backend.books.getInvoice(viewerOf(req).merchantScope, req.params.id);
  const creditDoc = (req: FastifyRequest<{ Params: { id: string } }>) =>
    backend.books.getCreditNote(viewerOf(req).merchantScope, req.params.id);
  app.get<{ Params: { id: string } }>('/console/invoices/:id/invoice.html', async (req, reply) => {
    const doc = await invoiceDoc(req);
    if (!doc) return notFound(req, reply, 'invoice');
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', DOCUMENT_CSP)
      .send(invoiceHtml(doc, d.seller));
  });
  app.get<{ Params: { id: string } }>('/console/invoices/:id/invoice.pdf', async (req, reply) => {
    const doc = await invoiceDoc(req);
    if (!doc) return notFound(req, reply, 'invoice');
    return reply.type('application/pdf').send(await invoicePdf(doc, d.seller));
  });
  app.get<{ Params: { id: string } }>('/console/credit-notes/:id/credit-note.html', async (req, reply) => {
    const cn = await creditDoc(req);
    if (!cn) return notFound(req, reply, 'credit note');
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', DOCUMENT_CSP)
      .send(creditNoteHtml(cn.creditNote, cn.invoice, d.seller));
  });
  app.get<{ Params: { id: string } }>('/console/credit-notes/:id/credit-note.pdf', async (req, reply) => {
    const cn = await creditDoc(req);
    if (!cn) return notFound(req, reply, 'credit note');
    return reply.type('application/pdf').send(await creditNotePdf(cn.creditNote, cn.invoice, d.seller));
  });

  // ---- actions: GET shows the confirmation, POST reviews (fields) or makes the change (confirmed) ----
  for (const target of ['subscription', 'cycle'] as const) {
    const base = target === 'subscription' ? '/console/subscriptions/:id' : '/console/cycles/:id';
    const load = async (
      req: FastifyRequest<{ Params: { id: string; action: string } }>,
    ): Promise<LoadedAction | undefined> => {
      const v = viewerOf(req);
      const spec = actionByName(target, req.params.action);
      if (!spec || (spec.operatorOnly && !v.operator)) return undefined;
      const ctx = await backend.actionContext(v, target, req.params.id);
      return ctx ? { v, spec, ctx } : undefined;
    };
    app.get<{ Params: { id: string; action: string } }>(`${base}/actions/:action`, async (req, reply) => {
      const found = await load(req);
      if (!found) return notFound(req, reply, `${target} or action`);
      const body = confirmPage({
        spec: found.spec,
        ctx: found.ctx,
        id: req.params.id,
        csrf: found.v.shell.csrf,
        idempotencyKey: randomUUID(),
        form: {},
        issues: [],
        reviewed: false,
      });
      return sendPage(reply, 200, found.spec.label, body, req);
    });
    app.post<{ Params: { id: string; action: string } }>(
      `${base}/actions/:action`,
      { preHandler: checkCsrf(app) },
      async (req, reply) => runAction(target, req, reply, await load(req)),
    );
  }

  async function runAction(
    target: ActionTarget,
    req: FastifyRequest<{ Params: { id: string; action: string } }>,
    reply: FastifyReply,
    found: LoadedAction | undefined,
  ): Promise<FastifyReply> {
    if (!found) return notFound(req, reply, `${target} or action`);
    const { v, spec, ctx } = found;
    const form = d.formOf(req);
    const key = form.idempotencyKey ?? '';
    const view = (issues: FieldIssue[], reviewed: boolean, message?: string) =>
      confirmPage({
        spec,
        ctx,
        id: req.params.id,
        csrf: v.shell.csrf,
        idempotencyKey: IDEMPOTENCY_KEY.test(key) ? key : randomUUID(),
        form,
        issues,
        reviewed,
        message,
      });
    if (!IDEMPOTENCY_KEY.test(key)) {
      const issue = { path: 'idempotencyKey', message: 'missing or malformed; reload the confirmation' };
      return sendPage(reply, 400, spec.label, view([issue], false), req);
    }
    const parsed = spec.parse(form, ctx);
    if (!parsed.ok) return sendPage(reply, 400, spec.label, view(parsed.issues, false), req);
    if (form.confirmed !== 'yes' && spec.fields.length > 0) {
      return sendPage(reply, 200, spec.label, view([], true), req);
    }
    try {
      const done = await spec.run(v.billing, req.params.id, parsed.input, key, ctx);
      req.log.info({ keyId: v.keyId, action: spec.name, target: req.params.id }, 'console change requested');
      req.session.set('flash', `${spec.label}: ${done} (Idempotency-Key ${key})`);
      const back = target === 'subscription' ? paths.subscription(req.params.id) : paths.cycle(req.params.id);
      return reply.code(303).header('location', back).send();
    } catch (err) {
      const e = actionError(err);
      return sendPage(reply, e.status, spec.label, view(e.issues, false, e.message), req);
    }
  }
}
