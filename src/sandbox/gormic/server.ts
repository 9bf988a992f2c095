/**
 * Gormic Order Management payments sandbox: an in-memory Fastify server behaving like seed 004, for tests and
 * `npm start`.
 *
 * Faithful to the seed: `api-key` and `organization-id` headers, `{"params":{…}}` bodies, the success envelope
 * `{app, service, warnings[], instanceId, requestId, data}`, HTTP 400 `{"error":{"code"}}` functional errors with the
 * documented codes, create / update / confirm / delete and their `data` shapes, items with `can[]`.
 * Assumed (undocumented): 401 `{"error":{"code":"UNAUTHORIZED"}}` for bad credentials, 404 `NOT_FOUND` for an unknown
 * uid, create defaulting to `status: "complete"`, confirm allowed only from `pending`, delete only before completion,
 * a refund needing a completed receipt of the same order (`InvalidParameter` / `INVALID_STATUS`) and refunds beyond
 * the receipt's amount answering `LIMIT_REACHED`; the list endpoint `GET /v1/om/payments?orderId=&transactionRef=`.
 *
 * Orders are created open on first use; each has a currency (default USD) so `amount` can be checked and stored in
 * exact minor units. `amountFormat` says how the sandbox reads `amount` ('major' decimal by default, or 'minor').
 */
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { currencyExponent, majorToMinor, minorToMajorString } from '../../domain/money';
import { createSandboxApp, faultControls, Faults, Ledger, listen, numberLiteral, parseJsonKeepingRaw } from '../kit';

export type GormicSandboxOrderStatus = 'open' | 'closed' | 'canceled';

export interface GormicSandboxOptions {
  port?: number;
  host?: string;
  apiKey?: string;
  organizationId?: string;
  amountFormat?: 'major' | 'minor';
  defaultCurrency?: string;
  /** Payment method ids that exist; default `cash`, `card`, `qorepay`. */
  paymentMethodIds?: string[];
}

export interface GormicSandboxPayment {
  id: string;
  orderId: string;
  type: 'receipt' | 'refund';
  status: 'complete' | 'pending' | 'progress' | 'reversed';
  amountMinor: number;
  currency: string;
  methodUid: string | null;
  customerUid: string | null;
  transactionRef: string | null;
  sourcePaymentId: string | null;
  invoiceId: string | null;
  attrs: Record<string, unknown>;
  note: string | null;
  custom: boolean;
  completedAt: string | null;
  reversedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface GormicLedgerEntry {
  seq: number;
  op: 'create' | 'update' | 'confirm' | 'delete';
  paymentId: string;
  orderId: string;
  type: GormicSandboxPayment['type'];
  status: GormicSandboxPayment['status'];
  amountMinor: number;
  /** `amount` exactly as it appeared in the request body (create and amount updates). */
  amountLiteral?: string;
  transactionRef: string | null;
  sourcePaymentId: string | null;
  invoiceId: string | null;
  at: string;
}

export interface GormicSandbox {
  baseUrl: string;
  apiKey: string;
  organizationId: string;
  close(): Promise<void>;
  /** Every committed write, in order. */
  ledger(): GormicLedgerEntry[];
  payments(orderId?: string): GormicSandboxPayment[];
  payment(id: string): GormicSandboxPayment | undefined;
  setOrderStatus(orderId: string, status: GormicSandboxOrderStatus): void;
  setOrderCurrency(orderId: string, currency: string): void;
  addInvoice(orderId: string, invoiceId: string, status?: 'open' | 'closed'): void;
  /** The next `n` requests answer HTTP `status` (default 500) without touching state. */
  failNext(n: number, status?: number): void;
  /** The next write is committed, then its request is left unanswered (the client times out). */
  commitThenTimeout(): void;
  requestCount(): number;
}

type Params = Record<string, unknown>;

interface Order {
  status: GormicSandboxOrderStatus;
  currency: string;
  invoices: Map<string, 'open' | 'closed'>;
}

class FunctionalError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
  }
}

const TYPES = ['receipt', 'refund'];
const STATUSES = ['complete', 'pending', 'progress', 'reversed'];
const STRING_FIELDS = ['methodId', 'customerUid', 'sourcePaymentId', 'transactionRef', 'invoiceId', 'note', 'orderId'];

export async function startGormicSandbox(options: GormicSandboxOptions = {}): Promise<GormicSandbox> {
  const apiKey = options.apiKey ?? `gormic-sandbox-${randomUUID()}`;
  const organizationId = options.organizationId ?? 'org-sandbox';
  const amountFormat = options.amountFormat ?? 'major';
  const defaultCurrency = (options.defaultCurrency ?? 'USD').toUpperCase();
  currencyExponent(defaultCurrency);
  const methodIds = options.paymentMethodIds ?? ['cash', 'card', 'qorepay'];
  const instanceId = `sandbox-${randomUUID().slice(0, 8)}`;
  const bootTime = new Date().toISOString();

  const orders = new Map<string, Order>();
  const payments = new Map<string, GormicSandboxPayment>();
  const faults = new Faults({ failureCode: 'INTERNAL_ERROR' });
  const ledger = new Ledger<GormicLedgerEntry>();
  let requests = 0;

  const order = (orderId: string): Order => {
    let o = orders.get(orderId);
    if (!o) {
      o = { status: 'open', currency: defaultCurrency, invoices: new Map() };
      orders.set(orderId, o);
    }
    return o;
  };

  const paymentMethods = () =>
    methodIds.map((id) => ({
      id,
      locales: { en: { name: id, description: `${id} payments` }, ar: { name: id, description: id } },
      visible: true,
      createdAt: bootTime,
      createdVia: 'console',
      createdBy: 'sandbox',
      updatedAt: bootTime,
      updatedVia: 'console',
      updatedBy: 'sandbox',
    }));

  const wireAmount = (p: GormicSandboxPayment) =>
    amountFormat === 'major' ? Number(minorToMajorString(p.amountMinor, p.currency)) : p.amountMinor;

  const can = (p: GormicSandboxPayment): string[] => {
    if (p.status === 'pending' || p.status === 'progress') return ['confirm', 'update', 'delete'];
    if (p.status === 'complete') return p.type === 'receipt' ? ['update', 'refund', 'reverse'] : ['update', 'reverse'];
    return [];
  };

  const item = (p: GormicSandboxPayment) => ({
    id: p.id,
    type: p.type,
    status: p.status,
    completedAt: p.completedAt,
    reversedAt: p.reversedAt,
    custom: p.custom,
    amount: wireAmount(p),
    sourcePaymentId: p.sourcePaymentId,
    transactionRef: p.transactionRef,
    attrs: p.attrs,
    invoiceId: p.invoiceId,
    note: p.note,
    createdAt: p.createdAt,
    createdVia: 'api',
    createdBy: 'service-user',
    updatedAt: p.updatedAt,
    updatedVia: 'api',
    updatedBy: 'service-user',
    can: can(p),
    methodUid: p.methodUid,
  });

  const envelope = (data: unknown) => ({
    app: 'om',
    service: 'payments',
    warnings: [],
    instanceId,
    requestId: randomUUID(),
    data,
  });

  const itemsOf = (orderId: string) => ({
    items: [...payments.values()].filter((p) => p.orderId === orderId).map(item),
    paymentMethods: paymentMethods(),
  });

  const record = (op: GormicLedgerEntry['op'], p: GormicSandboxPayment, amountLiteral?: string) => {
    ledger.add({
      seq: ledger.size + 1,
      op,
      paymentId: p.id,
      orderId: p.orderId,
      type: p.type,
      status: p.status,
      amountMinor: p.amountMinor,
      ...(amountLiteral === undefined ? {} : { amountLiteral }),
      transactionRef: p.transactionRef,
      sourcePaymentId: p.sourcePaymentId,
      invoiceId: p.invoiceId,
      at: p.updatedAt,
    });
  };

  const readParams = (req: FastifyRequest): Params => {
    const body = req.body as { params?: unknown } | undefined;
    if (!body || typeof body.params !== 'object' || body.params === null || Array.isArray(body.params)) {
      throw new FunctionalError('InvalidParameter', 'body must be {"params":{…}}');
    }
    const params = body.params as Params;
    for (const field of STRING_FIELDS) {
      const v = params[field];
      if (v !== undefined && v !== null && typeof v !== 'string') {
        throw new FunctionalError('InvalidParameter', `${field} must be a string`);
      }
    }
    if (params.status !== undefined && !STATUSES.includes(params.status as string)) {
      throw new FunctionalError('InvalidParameter', `status must be one of ${STATUSES.join(', ')}`);
    }
    if (params.attrs !== undefined && (typeof params.attrs !== 'object' || params.attrs === null)) {
      throw new FunctionalError('InvalidParameter', 'attrs must be an object');
    }
    return params;
  };

  const readAmount = (req: FastifyRequest, value: unknown, currency: string): { minor: number; literal?: string } => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new FunctionalError('InvalidParameter', 'amount must be a positive number');
    }
    let minor: number;
    if (amountFormat === 'major') {
      try {
        minor = majorToMinor(value, currency);
      } catch (err) {
        throw new FunctionalError('InvalidParameter', `amount: ${(err as Error).message}`);
      }
    } else {
      if (!Number.isSafeInteger(value)) throw new FunctionalError('InvalidParameter', 'amount must be an integer');
      minor = value;
    }
    const literal = numberLiteral(req, 'amount');
    return literal === undefined ? { minor } : { minor, literal };
  };

  const assertOrderWritable = (orderId: string): Order => {
    const o = order(orderId);
    if (o.status === 'closed') throw new FunctionalError('ORDER_CLOSED', `order ${orderId} is closed`);
    if (o.status === 'canceled') throw new FunctionalError('ORDER_CANCELED', `order ${orderId} is canceled`);
    return o;
  };

  const findPayment = (req: FastifyRequest): GormicSandboxPayment => {
    const uid = (req.params as { uid: string }).uid;
    const p = payments.get(uid);
    if (!p) throw new FunctionalError('NOT_FOUND', `payment ${uid} not found`, 404);
    return p;
  };

  const refundedMinor = (sourceId: string, exceptId?: string) =>
    [...payments.values()]
      .filter((p) => p.type === 'refund' && p.sourcePaymentId === sourceId && p.status !== 'reversed')
      .filter((p) => p.id !== exceptId)
      .reduce((sum, p) => sum + p.amountMinor, 0);

  const app = createSandboxApp();
  parseJsonKeepingRaw(app, () => new FunctionalError('InvalidParameter', 'malformed JSON body'));

  app.setErrorHandler(
    (err: { code?: unknown; message?: string; httpStatus?: unknown; statusCode?: unknown }, _req, reply) => {
      if (err instanceof FunctionalError) {
        return reply.code(err.httpStatus).send({ error: { code: err.code, message: err.message } });
      }
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
      return reply
        .code(status)
        .send({ error: { code: status >= 500 ? 'INTERNAL_ERROR' : 'InvalidParameter', message: err.message } });
    },
  );

  faults.install(app);
  app.addHook('onRequest', async (req, reply) => {
    if (req.headers['api-key'] !== apiKey || req.headers['organization-id'] !== organizationId) {
      return reply.code(401).send({ error: { code: 'UNAUTHORIZED', message: 'Invalid api-key or organization-id' } });
    }
    requests++;
    return undefined;
  });

  app.post('/v1/om/payments', async (req, reply) => {
    const params = readParams(req);
    const orderId = params.orderId;
    if (typeof orderId !== 'string' || orderId === '')
      throw new FunctionalError('InvalidParameter', 'orderId is required');
    if (typeof params.type !== 'string' || !TYPES.includes(params.type)) {
      throw new FunctionalError('InvalidParameter', 'type must be receipt or refund');
    }
    const type = params.type as GormicSandboxPayment['type'];
    const o = assertOrderWritable(orderId);
    const { minor, literal } = readAmount(req, params.amount, o.currency);
    const invoiceId = (params.invoiceId as string | undefined) ?? null;
    if (invoiceId !== null) {
      const invoice = o.invoices.get(invoiceId);
      if (!invoice)
        throw new FunctionalError('INVOICE_NOT_FOUND', `invoice ${invoiceId} not found on order ${orderId}`);
      if (invoice === 'closed') throw new FunctionalError('INVOICE_CLOSED', `invoice ${invoiceId} is closed`);
    }
    const methodId = (params.methodId as string | undefined) ?? null;
    if (methodId !== null && !methodIds.includes(methodId)) {
      throw new FunctionalError('MethodNotFound', `payment method ${methodId} not found`);
    }
    const sourcePaymentId = (params.sourcePaymentId as string | undefined) ?? null;
    if (type === 'refund') {
      if (sourcePaymentId === null) throw new FunctionalError('InvalidParameter', 'sourcePaymentId is required');
      const source = payments.get(sourcePaymentId);
      if (!source || source.orderId !== orderId || source.type !== 'receipt') {
        throw new FunctionalError(
          'InvalidParameter',
          `sourcePaymentId ${sourcePaymentId} is not a receipt of this order`,
        );
      }
      if (source.status !== 'complete') {
        throw new FunctionalError('INVALID_STATUS', `source payment is ${source.status}, not complete`);
      }
      if (refundedMinor(source.id) + minor > source.amountMinor) {
        throw new FunctionalError('LIMIT_REACHED', 'refunds would exceed the source payment amount');
      }
    }
    const status = (params.status as GormicSandboxPayment['status'] | undefined) ?? 'complete';
    if (status === 'reversed') throw new FunctionalError('INVALID_STATUS', 'a payment cannot be created reversed');
    const at = new Date().toISOString();
    const payment: GormicSandboxPayment = {
      id: randomUUID(),
      orderId,
      type,
      status,
      amountMinor: minor,
      currency: o.currency,
      methodUid: methodId,
      customerUid: (params.customerUid as string | undefined) ?? null,
      transactionRef: (params.transactionRef as string | undefined) ?? null,
      sourcePaymentId,
      invoiceId,
      attrs: (params.attrs as Record<string, unknown> | undefined) ?? {},
      note: (params.note as string | undefined) ?? null,
      custom: params.custom === true,
      completedAt: status === 'complete' ? at : null,
      reversedAt: null,
      createdAt: at,
      updatedAt: at,
    };
    payments.set(payment.id, payment);
    record('create', payment, literal);
    return faults.answerWrite(reply, 200, envelope({ id: payment.id }));
  });

  app.get('/v1/om/payments', async (req) => {
    const q = req.query as Record<string, unknown>;
    if (typeof q.orderId !== 'string' || q.orderId === '') {
      throw new FunctionalError('InvalidParameter', 'orderId is required');
    }
    const data = itemsOf(q.orderId);
    if (typeof q.transactionRef === 'string') {
      data.items = data.items.filter((i) => i.transactionRef === q.transactionRef);
    }
    return envelope(data);
  });

  app.patch('/v1/om/payments/:uid/confirm', async (req, reply) => {
    const p = findPayment(req);
    const params = readParams(req);
    if (params.id !== undefined && params.id !== p.id) throw new FunctionalError('InvalidParameter', 'id mismatch');
    if (params.orderId !== undefined && params.orderId !== p.orderId) {
      throw new FunctionalError('InvalidParameter', 'orderId does not match the payment');
    }
    assertOrderWritable(p.orderId);
    if (p.status !== 'pending') throw new FunctionalError('INVALID_STATUS', `payment is ${p.status}, not pending`);
    const at = new Date().toISOString();
    p.status = 'complete';
    p.completedAt = at;
    p.updatedAt = at;
    if (typeof params.transactionRef === 'string') p.transactionRef = params.transactionRef;
    if (typeof params.customerUid === 'string') p.customerUid = params.customerUid;
    if (params.attrs) p.attrs = { ...p.attrs, ...(params.attrs as Record<string, unknown>) };
    record('confirm', p);
    return faults.answerWrite(reply, 200, envelope(itemsOf(p.orderId)));
  });

  app.patch('/v1/om/payments/:uid', async (req, reply) => {
    const p = findPayment(req);
    const params = readParams(req);
    if (params.id !== undefined && params.id !== p.id) throw new FunctionalError('InvalidParameter', 'id mismatch');
    if (params.type !== undefined || params.invoiceId !== undefined) {
      throw new FunctionalError('InvalidParameter', 'type and invoiceId cannot be updated');
    }
    if (params.orderId !== undefined && params.orderId !== p.orderId) {
      throw new FunctionalError('InvalidParameter', 'orderId does not match the payment');
    }
    assertOrderWritable(p.orderId);
    if (p.status === 'reversed') throw new FunctionalError('INVALID_STATUS', 'payment is reversed');
    let amount: { minor: number; literal?: string } | undefined;
    if (params.amount !== undefined) {
      amount = readAmount(req, params.amount, p.currency);
      if (p.status === 'complete' && params.correction !== true) {
        throw new FunctionalError('INVALID_STATUS', 'a completed payment amount changes only with correction: true');
      }
      if (p.type === 'refund' && p.sourcePaymentId) {
        const source = payments.get(p.sourcePaymentId);
        if (source && refundedMinor(source.id, p.id) + amount.minor > source.amountMinor) {
          throw new FunctionalError('LIMIT_REACHED', 'refunds would exceed the source payment amount');
        }
      }
    }
    const next = params.status as GormicSandboxPayment['status'] | undefined;
    if (next !== undefined && next !== p.status) {
      const allowed = p.status === 'complete' ? ['reversed'] : ['complete', 'pending', 'progress'];
      if (!allowed.includes(next)) throw new FunctionalError('INVALID_STATUS', `cannot move ${p.status} to ${next}`);
    }
    if (params.methodId !== undefined && !methodIds.includes(params.methodId as string)) {
      throw new FunctionalError('MethodNotFound', `payment method ${params.methodId as string} not found`);
    }
    const at = new Date().toISOString();
    if (amount) p.amountMinor = amount.minor;
    if (next !== undefined && next !== p.status) {
      p.status = next;
      if (next === 'complete') p.completedAt = at;
      if (next === 'reversed') p.reversedAt = at;
    }
    if (typeof params.methodId === 'string') p.methodUid = params.methodId;
    if (typeof params.customerUid === 'string') p.customerUid = params.customerUid;
    if (typeof params.transactionRef === 'string') p.transactionRef = params.transactionRef;
    if (typeof params.note === 'string') p.note = params.note;
    if (typeof params.custom === 'boolean') p.custom = params.custom;
    if (params.attrs) p.attrs = { ...p.attrs, ...(params.attrs as Record<string, unknown>) };
    p.updatedAt = at;
    record('update', p, amount?.literal);
    return faults.answerWrite(reply, 200, envelope({ success: true }));
  });

  app.delete('/v1/om/payments/:uid', async (req, reply) => {
    const p = findPayment(req);
    assertOrderWritable(p.orderId);
    if (p.status !== 'pending' && p.status !== 'progress') {
      throw new FunctionalError('INVALID_STATUS', `a ${p.status} payment cannot be deleted; reverse or refund it`);
    }
    payments.delete(p.id);
    p.updatedAt = new Date().toISOString();
    record('delete', p);
    return faults.answerWrite(reply, 200, envelope(itemsOf(p.orderId)));
  });

  app.setNotFoundHandler((_req, reply) => reply.code(404).send({ error: { code: 'NOT_FOUND', message: 'route' } }));

  const baseUrl = await listen(app, options);

  return {
    baseUrl,
    apiKey,
    organizationId,
    ...faultControls(app, faults),
    ledger: () => ledger.list(),
    payments: (orderId) =>
      [...payments.values()].filter((p) => orderId === undefined || p.orderId === orderId).map((p) => ({ ...p })),
    payment(id) {
      const p = payments.get(id);
      return p ? { ...p } : undefined;
    },
    setOrderStatus(orderId, status) {
      order(orderId).status = status;
    },
    setOrderCurrency(orderId, currency) {
      currencyExponent(currency);
      order(orderId).currency = currency.toUpperCase();
    },
    addInvoice(orderId, invoiceId, status = 'open') {
      order(orderId).invoices.set(invoiceId, status);
    },
    requestCount: () => requests,
  };
}
