/**
 * The gateway's HTTP API under `/api/v1/` (Bearer auth when the sandbox has a key): clients, purchases, charges,
 * refunds, chargebacks, recurring tokens, the public key and account webhooks, over ./model.ts. Same paths, statuses
 * and error shapes as the gateway (`reference/qorepay.md`).
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from '../../shared/logger';
import { bodyOf, parseJsonKeepingRaw, type Faults } from '../kit';
import { chargePurchase, type ChargeTiming } from './charges';
import {
  allError,
  CANCELLABLE,
  IN_FLIGHT,
  CHARGEBACK_REASONS,
  fieldError,
  newKeyPair,
  now,
  PAID_LIKE,
  REFUNDABLE,
  type AccountWebhook,
  type QorePayModel,
} from './model';

export const API_PREFIX = '/api/v1';

export interface GatewayRouteOptions {
  /** When set, `/api/v1/*` requests need `Authorization: Bearer <apiKey>` (else 401). */
  apiKey?: string | undefined;
  logger: Logger;
  /** Page size of `GET /clients/{id}/recurring_tokens/`. */
  tokensPageSize: number;
  /** The sandbox's origin, for pagination links (known once it listens). */
  origin: () => string;
  charge: ChargeTiming;
  faults: Faults;
  /** How long a charge whose answer is lost holds the socket. */
  commitTimeoutHoldMs: number;
}

type IdParams = { Params: { id: string } };
const notFound = (reply: FastifyReply) => reply.code(404).send({ detail: 'Not found.' });

export function registerGatewayRoutes(app: FastifyInstance, model: QorePayModel, o: GatewayRouteOptions): void {
  const api = API_PREFIX;
  parseJsonKeepingRaw(app, () => Object.assign(new Error('JSON parse error'), { statusCode: 400 }));

  app.setErrorHandler((error: { statusCode?: number; message?: string }, _req, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      o.logger.error({ err: error.message }, 'qorepay sandbox: handler failed');
      return reply.code(500).send({ detail: 'Internal server error' });
    }
    return reply.code(status).send(allError('parse_error', error.message ?? 'Bad request'));
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ detail: 'Not found.' }));

  const expectedAuth = o.apiKey ? createHash('sha256').update(`Bearer ${o.apiKey}`).digest() : undefined;
  app.addHook('onRequest', async (req, reply) => {
    if (!expectedAuth || !req.url.startsWith('/api/')) return;
    const got = createHash('sha256')
      .update(req.headers.authorization ?? '')
      .digest();
    if (!timingSafeEqual(got, expectedAuth)) {
      return reply.code(401).send({ code: 'authentication_failed', message: 'Invalid or missing API key' });
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    o.logger.debug({ method: req.method, path: req.url.split('?')[0], status: reply.statusCode }, 'qorepay sandbox');
  });

  // --- model.clients
  app.post(`${api}/clients/`, async (req, reply) => {
    const b = bodyOf(req);
    if (typeof b.email !== 'string' || !b.email.includes('@')) {
      return reply.code(400).send({ email: fieldError('Enter a valid email address.', 'invalid') });
    }
    return reply.code(201).send(model.newClient(b));
  });
  app.get<IdParams>(`${api}/clients/:id/`, async (req, reply) => {
    const c = model.clients.get(req.params.id);
    return c ? reply.send(c) : notFound(reply);
  });
  app.get<IdParams & { Querystring: { page?: string } }>(`${api}/clients/:id/recurring_tokens/`, async (req, reply) => {
    if (!model.clients.has(req.params.id)) return notFound(reply);
    const all = model.tokensOf(req.params.id);
    const page = Math.max(1, Number(req.query.page ?? '1') || 1);
    const start = (page - 1) * o.tokensPageSize;
    const link = (n: number) =>
      `${o.origin()}${api}/clients/${encodeURIComponent(req.params.id)}/recurring_tokens/?page=${n}`;
    return reply.send({
      results: all.slice(start, start + o.tokensPageSize),
      next: start + o.tokensPageSize < all.length ? link(page + 1) : null,
      previous: page > 1 ? link(page - 1) : null,
    });
  });
  app.get<{ Params: { cid: string; pid: string } }>(
    `${api}/clients/:cid/recurring_tokens/:pid/`,
    async (req, reply) => {
      const t = model.tokensOf(req.params.cid).find((x) => x.id === req.params.pid);
      return t ? reply.send(t) : notFound(reply);
    },
  );
  app.delete<{ Params: { cid: string; pid: string } }>(
    `${api}/clients/:cid/recurring_tokens/:pid/`,
    async (req, reply) => {
      const p = model.purchases.get(req.params.pid);
      if (!p || p.client_id !== req.params.cid || !p.is_recurring_token) return notFound(reply);
      p.is_recurring_token = false;
      p.updated_on = now();
      model.emitPurchase('purchase.recurring_token_deleted', p);
      return reply.code(204).send();
    },
  );

  // --- model.purchases
  app.post(`${api}/purchases/`, async (req, reply) => {
    const b = bodyOf(req);
    const errors = model.validatePurchaseBody(b);
    if (errors) return reply.code(400).send(errors);
    const purchaseIn = b.purchase as Record<string, unknown>;
    let clientId = typeof b.client_id === 'string' ? b.client_id : null;
    let client: Record<string, unknown>;
    if (clientId) {
      client = model.clients.get(clientId) ?? {};
    } else {
      client = model.newClient(b.client as Record<string, unknown>);
      clientId = client.id as string;
    }
    const { products, currency, ...purchaseExtra } = purchaseIn;
    const p = model.newPurchase({
      brandId: b.brand_id as string,
      clientId,
      client,
      reference: typeof b.reference === 'string' ? b.reference : null,
      currency: typeof currency === 'string' ? currency : 'NGN',
      products: (products as Array<Record<string, unknown>>).map((pr) => ({
        ...pr,
        name: pr.name as string,
        price: pr.price as number,
        quantity: typeof pr.quantity === 'string' ? pr.quantity : '1',
      })),
      body: b,
      purchaseExtra,
    });
    model.emitPurchase('purchase.created', p);
    return reply.code(201).send(p);
  });

  // CHIP's purchase list (not on QorePay's reference pages): filtered by exact `reference` and `status`, oldest first,
  // paged like every list of the gateway (`{results, next, previous}`).
  app.get<{ Querystring: { reference?: string; status?: string; page?: string } }>(
    `${api}/purchases/`,
    async (req, reply) => {
      const { reference, status } = req.query;
      const all = [...model.purchases.values()]
        // in creation order (the model's map keeps it)
        .filter((p) => (reference === undefined || p.reference === reference) && (!status || p.status === status));
      const page = Math.max(1, Number(req.query.page ?? '1') || 1);
      const size = o.tokensPageSize;
      const start = (page - 1) * size;
      const query = (n: number) => {
        const q = new URLSearchParams();
        if (reference !== undefined) q.set('reference', reference);
        if (status) q.set('status', status);
        q.set('page', String(n));
        return `${o.origin()}${api}/purchases/?${q.toString()}`;
      };
      return reply.send({
        results: all.slice(start, start + size),
        next: start + size < all.length ? query(page + 1) : null,
        previous: page > 1 ? query(page - 1) : null,
      });
    },
  );

  app.get(`${api}/purchases/chargeback_reasons`, async (_req, reply) => reply.send(CHARGEBACK_REASONS));

  app.get<IdParams>(`${api}/purchases/:id/`, async (req, reply) => {
    const p = model.purchases.get(req.params.id);
    if (p) model.reads.set(p.id, (model.reads.get(p.id) ?? 0) + 1);
    return p ? reply.send(p) : notFound(reply);
  });

  app.post<IdParams>(`${api}/purchases/:id/charge/`, async (req, reply) => {
    const p = model.purchases.get(req.params.id);
    if (!p) return notFound(reply);
    const token = bodyOf(req).recurring_token;
    if (typeof token !== 'string' || token === '') {
      return reply.code(400).send({ recurring_token: fieldError('This field is required.', 'required') });
    }
    const answer = await chargePurchase(model, p, token, o.charge);
    if (answer.type === 'closed') return reply;
    if (answer.type === 'lost') return o.faults.hijack(reply, o.commitTimeoutHoldMs);
    return reply
      .code(answer.status)
      .headers(answer.headers ?? {})
      .send(answer.body);
  });

  app.post<IdParams>(`${api}/purchases/:id/mark_as_paid/`, async (req, reply) => {
    const p = model.purchases.get(req.params.id);
    if (!p) return notFound(reply);
    const raw = bodyOf(req).paid_on;
    let paidOn = now();
    if (raw !== undefined && raw !== null) {
      const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 99_999_999_999) {
        return reply
          .code(400)
          .send({ paid_on: fieldError('A valid Unix timestamp in seconds is required.', 'invalid') });
      }
      paidOn = n;
    }
    if (PAID_LIKE.has(p.status)) {
      return reply.code(400).send(allError('purchase_already_paid_for', 'Purchase already paid for.'));
    }
    if (!CANCELLABLE.has(p.status) && !IN_FLIGHT.has(p.status)) {
      return reply
        .code(400)
        .send(allError('invalid_purchase_status', `Purchase in status ${p.status} cannot be paid.`));
    }
    model.markPaid(p, paidOn, { marked_as_paid: true });
    model.emitPurchase('purchase.paid', p);
    return reply.send(p);
  });

  app.post<IdParams>(`${api}/purchases/:id/cancel/`, async (req, reply) => {
    const p = model.purchases.get(req.params.id);
    if (!p) return notFound(reply);
    if (!CANCELLABLE.has(p.status)) {
      return reply
        .code(400)
        .send(allError('purchase_cancel_error', `Purchase in status ${p.status} cannot be cancelled.`));
    }
    if (p.reference !== null && model.cancelRefusedReferences.has(p.reference)) {
      return reply.code(400).send(allError('purchase_cancel_error', 'Purchase cannot be cancelled at this time.'));
    }
    model.setStatus(p, 'cancelled');
    model.emitPurchase('purchase.cancelled', p);
    return reply.send(p);
  });

  // The request carries only `amount` (reference/qorepay.md): a refund cannot be given a reference of the caller's, and
  // any other field is ignored, as by the gateway. A refund Payment is told apart only by its id.
  app.post<IdParams>(`${api}/purchases/:id/refund/`, async (req, reply) => {
    const p = model.purchases.get(req.params.id);
    if (!p) return notFound(reply);
    const raw = bodyOf(req).amount;
    if (!REFUNDABLE.has(p.status) || p.refundable_amount <= 0) {
      return reply
        .code(400)
        .send(allError('purchase_refund_error', `Purchase in status ${p.status} cannot be refunded.`));
    }
    const amount = raw === undefined || raw === null ? p.refundable_amount : raw;
    if (typeof amount !== 'number' || !Number.isInteger(amount) || amount <= 0 || amount > p.refundable_amount) {
      return reply
        .code(400)
        .send(
          allError('purchase_refund_error', `Refund amount must be an integer between 1 and ${p.refundable_amount}.`),
        );
    }
    if (model.refundMode === 'pending') {
      model.setStatus(p, 'pending_refund');
      model.emitPurchase('purchase.pending_refund', p);
      o.charge.timers.later(o.charge.pendingResolveDelayMs, () => {
        if (p.status === 'pending_refund') model.completeRefund(p, amount);
      });
      return o.faults.answerWrite(reply, 200, p);
    }
    return o.faults.answerWrite(reply, 200, model.completeRefund(p, amount));
  });

  app.post<IdParams>(`${api}/purchases/:id/chargeback/`, async (req, reply) => {
    const p = model.purchases.get(req.params.id);
    if (!p) return notFound(reply);
    const b = bodyOf(req);
    const errors: Record<string, unknown> = {};
    for (const f of ['reason_id', 'arn', 'date', 'reference']) {
      if (typeof b[f] !== 'string' || b[f] === '') errors[f] = fieldError('This field is required.', 'required');
    }
    if (!errors.reason_id && !CHARGEBACK_REASONS.some((r) => r.id === b.reason_id)) {
      errors.reason_id = fieldError('Object with id does not exist.', 'does_not_exist');
    }
    if (!errors.date && !/^\d+$/.test(b.date as string))
      errors.date = fieldError('A UTC timestamp is required.', 'invalid');
    if (Object.keys(errors).length > 0) return reply.code(400).send(errors);
    if (!REFUNDABLE.has(p.status)) {
      return reply
        .code(400)
        .send(allError('purchase_chargeback_error', `Purchase in status ${p.status} cannot be charged back.`));
    }
    const payment = model.createPaymentFor(p, 'chargeback', p.refundable_amount, {
      status: 'charged_back',
      chargeback: { reason_id: b.reason_id, arn: b.arn, date: Number(b.date), reference: b.reference },
    });
    p.refundable_amount = 0;
    p.refund_availability = 'none';
    model.setStatus(p, 'charged_back', { type: 'payment', id: payment.id as string });
    model.emit('payment.charged_back', p.id, payment);
    return reply.send(p);
  });

  app.post<IdParams>(`${api}/purchases/:id/delete_recurring_token/`, async (req, reply) => {
    const p = model.purchases.get(req.params.id);
    if (!p) return notFound(reply);
    if (p.is_recurring_token) {
      p.is_recurring_token = false;
      p.updated_on = now();
      model.emitPurchase('purchase.recurring_token_deleted', p);
    }
    return reply.send(p);
  });

  // --- keys and account webhooks
  app.get(`${api}/public_key/`, async (_req, reply) =>
    reply.type('application/json').send(JSON.stringify(model.publicKeyPem)),
  );

  const publicWebhook = (h: AccountWebhook) => {
    const { privateKey: _privateKey, ...rest } = h;
    return { type: 'webhook', ...rest };
  };
  app.post(`${api}/webhooks/`, async (req, reply) => {
    const b = bodyOf(req);
    const errors: Record<string, unknown> = {};
    if (typeof b.callback !== 'string' || !/^https?:\/\//.test(b.callback)) {
      errors.callback = fieldError('Enter a valid URL.', 'invalid');
    }
    const allEvents = b.all_events === true;
    const events = Array.isArray(b.events) ? b.events.filter((e): e is string => typeof e === 'string') : [];
    if (!allEvents && events.length === 0) errors.events = fieldError('Give events or all_events.', 'required');
    if (Object.keys(errors).length > 0) return reply.code(400).send(errors);
    const keys = newKeyPair();
    const ts = now();
    const hook: AccountWebhook = {
      id: randomUUID(),
      title: typeof b.title === 'string' ? b.title : '',
      callback: b.callback as string,
      events,
      all_events: allEvents,
      public_key: keys.publicKeyPem,
      privateKey: keys.privateKey,
      created_on: ts,
      updated_on: ts,
    };
    model.accountWebhooks.set(hook.id, hook);
    return reply.code(201).send(publicWebhook(hook));
  });
  app.get(`${api}/webhooks/`, async (_req, reply) =>
    reply.send({ results: [...model.accountWebhooks.values()].map(publicWebhook), next: null, previous: null }),
  );
  app.get<IdParams>(`${api}/webhooks/:id/`, async (req, reply) => {
    const h = model.accountWebhooks.get(req.params.id);
    return h ? reply.send(publicWebhook(h)) : notFound(reply);
  });
  app.delete<IdParams>(`${api}/webhooks/:id/`, async (req, reply) => {
    if (!model.accountWebhooks.delete(req.params.id)) return notFound(reply);
    return reply.code(204).send();
  });
}
