/**
 * The sandbox's control API under `/__sandbox/`, for tests and demos over HTTP: choose scenarios, create recurring
 * tokens, read the ledger, purchases and webhook deliveries, complete a checkout, shape webhook delivery, rotate the
 * company key and switch refunds to pending.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { bodyOf } from '../kit';
import { CANCELLABLE, now, type QorePayModel } from './model';
import { ScenarioSchema } from './scenarios';
import type { QorePaySandbox } from './server';
import type { WebhookDeliveryOptions } from './webhook-delivery';

export const CONTROL_PREFIX = '/__sandbox';

type IdParams = { Params: { id: string } };
const notFound = (reply: FastifyReply) => reply.code(404).send({ detail: 'Not found.' });

export function registerControlRoutes(app: FastifyInstance, model: QorePayModel, sandbox: QorePaySandbox): void {
  const ctl = CONTROL_PREFIX;
  // The index `npm start` prints: what the control API offers (no secrets; the sandbox's API key is not listed).
  app.get(`${ctl}/`, async () => ({
    sandbox: 'QorePay',
    endpoints: [
      'GET health',
      'POST scenarios',
      'POST tokens',
      'GET ledger?reference=',
      'GET payments?purchase_id=',
      'GET purchases/:id',
      'POST purchases/:id/complete_checkout',
      'POST purchases/:id/refund',
      'GET purchases/:id/reads',
      'POST purchases/:id/resolve',
      'GET deliveries',
      'PUT webhook-options',
      'POST webhook-urls',
      'POST rotate-key',
      'POST refund-mode',
    ].map((e) => e.replace(' ', ` ${ctl}/`)),
  }));
  app.get(`${ctl}/health`, async () => ({ ok: true }));
  app.post(`${ctl}/scenarios`, async (req, reply) => {
    const parsed = z.object({ token: z.string().min(1), scenario: ScenarioSchema }).safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.message });
    model.scenarios.set(parsed.data.token, parsed.data.scenario);
    return { ok: true };
  });
  app.post(`${ctl}/tokens`, async (req, reply) => {
    const parsed = z
      .object({ scenario: ScenarioSchema.optional(), clientId: z.string().optional(), currency: z.string().optional() })
      .safeParse(req.body ?? {});
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.message });
    const { scenario, clientId, currency } = parsed.data;
    const id = model.createRecurringToken(scenario, {
      ...(clientId === undefined ? {} : { clientId }),
      ...(currency === undefined ? {} : { currency }),
    });
    return reply.code(201).send({ id, clientId: model.purchases.get(id)?.client_id });
  });
  app.get<{ Querystring: { reference?: string } }>(`${ctl}/ledger`, async (req) => ({
    entries: sandbox.ledger(req.query.reference),
  }));
  app.get<{ Querystring: { purchase_id?: string } }>(`${ctl}/payments`, async (req) => ({
    payments: sandbox.payments(req.query.purchase_id),
  }));
  app.get<IdParams>(`${ctl}/purchases/:id`, async (req, reply) => {
    const p = model.purchases.get(req.params.id);
    return p ? reply.send(p) : notFound(reply);
  });
  app.post<IdParams>(`${ctl}/purchases/:id/complete_checkout`, async (req, reply) => {
    const p = model.purchases.get(req.params.id);
    if (!p) return notFound(reply);
    if (!CANCELLABLE.has(p.status)) {
      return reply.code(409).send({ error: `purchase in status ${p.status} cannot be paid` });
    }
    const remember = bodyOf(req).remember_card === true || p.force_recurring === true;
    model.attempt(p, true);
    p.transaction_data.attempts[0]!.type = 'execute';
    model.markPaid(p, now(), { is_recurring_token: remember });
    model.emitPurchase('purchase.paid', p);
    return reply.send(p);
  });
  // A refund made at the gateway outside the engine (what a merchant's dashboard refund looks like to the engine).
  app.post<IdParams>(`${ctl}/purchases/:id/refund`, async (req, reply) => {
    const parsed = z.object({ amount: z.number().int().positive().optional() }).safeParse(req.body ?? {});
    if (!parsed.success) return reply.code(400).send({ error: `amount: ${parsed.error.issues[0]?.message}` });
    const p = model.purchases.get(req.params.id);
    if (!p) return notFound(reply);
    const out = model.refundOutside(p, parsed.data.amount);
    return 'refused' in out ? reply.code(409).send({ error: out.refused }) : reply.send(out);
  });
  app.get<IdParams>(`${ctl}/purchases/:id/reads`, async (req) => ({ reads: model.reads.get(req.params.id) ?? 0 }));
  // A pending charge of a `manual` scenario resolves now (paid or declined, as its scenario says).
  app.post<IdParams>(`${ctl}/purchases/:id/resolve`, async (req, reply) => {
    if (!sandbox.resolvePending(req.params.id)) return reply.code(409).send({ error: 'no manual pending charge' });
    return reply.send(model.purchases.get(req.params.id));
  });
  app.get(`${ctl}/deliveries`, async () => ({ deliveries: sandbox.deliveries() }));
  app.put(`${ctl}/webhook-options`, async (req, reply) => {
    const parsed = z
      .object({
        duplicate: z.boolean().optional(),
        reorder: z.boolean().optional(),
        delayMs: z.number().int().nonnegative().optional(),
        reorderHoldMs: z.number().int().nonnegative().optional(),
      })
      .safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.message });
    const next: WebhookDeliveryOptions = {};
    for (const [k, v] of Object.entries(parsed.data)) if (v !== undefined) Object.assign(next, { [k]: v });
    sandbox.setWebhookOptions(next);
    return { options: sandbox.webhookOptions };
  });
  app.post(`${ctl}/webhook-urls`, async (req, reply) => {
    const parsed = z.object({ url: z.string().regex(/^https?:\/\//) }).safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.message });
    sandbox.addWebhookUrl(parsed.data.url);
    return { urls: [...model.callbackUrls] };
  });
  app.post(`${ctl}/rotate-key`, async () => ({ publicKey: sandbox.rotateKey() }));
  app.post(`${ctl}/refund-mode`, async (req, reply) => {
    const parsed = z.object({ mode: z.enum(['instant', 'pending']) }).safeParse(req.body);
    if (!parsed.success) return reply.code(400).send({ error: parsed.error.message });
    sandbox.setRefundMode(parsed.data.mode);
    return { mode: parsed.data.mode };
  });
}
