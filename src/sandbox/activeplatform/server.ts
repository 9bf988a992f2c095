/**
 * ActivePlatform v1 vendor API sandbox: an in-memory Fastify server that behaves like the endpoints in seed 003,
 * for tests and `npm start`.
 *
 * Faithful to the seed: the `api_token` query parameter, `POST payments.json` ({account_id, total, comment}) creating a
 * `waiting for payment` payment, `POST payments/{id}/complete.json` ({payment_method_id}) allowed only from
 * `waiting for payment`, and the documented response model with `total` as a float in major units.
 * Assumed (ActivePlatform does not document them): the error bodies `{"error":{"code","message"}}` with 401 (bad
 * token), 404 (unknown payment), 422 (validation; `code: "invalid_status"` for a forbidden transition), 500 (injected);
 * the list (`GET payments.json?account_id=`), get (`GET payments/{id}.json`) and cancel (`POST payments/{id}/cancel.json`)
 * endpoints; and negative totals for credit payments.
 *
 * Accounts exist implicitly; each has a currency (default USD, `setAccountCurrency`) so the sandbox can reject a
 * total with more decimals than the currency allows and keep every amount in exact minor units.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { currencyExponent, majorToMinor, minorToMajorString } from '../../domain/money';
import { createSandboxApp, faultControls, Faults, Ledger, listen, numberLiteral, parseJsonKeepingRaw } from '../kit';

export interface ActivePlatformSandboxOptions {
  port?: number;
  host?: string;
  apiToken?: string;
  /** Currency of accounts not configured with `setAccountCurrency`; default USD. */
  defaultCurrency?: string;
}

export interface ActivePlatformSandboxPayment {
  id: number;
  documentId: string;
  status: string;
  accountId: number;
  currency: string;
  totalMinor: number;
  comment: string;
  paymentMethodId: number | null;
  requesterIp: string;
  createdAt: string;
  updatedAt: string;
}

export interface ActivePlatformLedgerEntry {
  seq: number;
  op: 'create' | 'complete' | 'cancel';
  paymentId: number;
  accountId: number;
  status: string;
  currency: string;
  totalMinor: number;
  /** The `total` exactly as it appeared in the request body (create only). */
  totalLiteral?: string;
  comment: string;
  paymentMethodId: number | null;
  at: string;
}

export interface ActivePlatformSandbox {
  baseUrl: string;
  apiToken: string;
  close(): Promise<void>;
  /** Every committed write, in order. */
  ledger(): ActivePlatformLedgerEntry[];
  payments(): ActivePlatformSandboxPayment[];
  payment(id: number): ActivePlatformSandboxPayment | undefined;
  setAccountCurrency(accountId: number, currency: string): void;
  /** Force a payment into any status (e.g. `receipt sent`) to exercise transitions. */
  setPaymentStatus(id: number, status: string): void;
  /** The next `n` requests (any route) answer HTTP `status` (default 500) without touching state. */
  failNext(n: number, status?: number): void;
  /** The next write is committed, then its request is left unanswered (the client times out). */
  commitThenTimeout(): void;
  /** Number of requests received (after authentication), per `METHOD path`. */
  requestCount(): number;
}

const API = '/api/vendor/v1';
const STATUSES = ['waiting for payment', 'completed', 'receipt creating', 'receipt sent', 'cancelled'];
const PAYMENT_METHOD_NAMES: Record<number, string> = { 1: 'Check', 2: 'Bank transfer', 3: 'Cash', 7: 'QorePay card' };

type Body = Record<string, unknown>;

export async function startActivePlatformSandbox(
  options: ActivePlatformSandboxOptions = {},
): Promise<ActivePlatformSandbox> {
  const apiToken = options.apiToken ?? `ap-sandbox-${randomUUID()}`;
  const defaultCurrency = options.defaultCurrency ?? 'USD';
  currencyExponent(defaultCurrency);

  const payments = new Map<number, ActivePlatformSandboxPayment>();
  const accountCurrency = new Map<number, string>();
  const ledger = new Ledger<ActivePlatformLedgerEntry>();
  const faults = new Faults({ failureCode: 'internal_error' });
  let nextId = 2_007_041;
  let requests = 0;

  const app = createSandboxApp();
  // Keep the raw body so the ledger can show the `total` literal exactly as sent.
  parseJsonKeepingRaw(app, () => Object.assign(new Error('Malformed JSON body'), { statusCode: 400 }));

  app.setErrorHandler((err: { statusCode?: number; message?: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    return reply
      .code(status)
      .send({ error: { code: status === 500 ? 'internal_error' : 'bad_request', message: err.message } });
  });

  faults.install(app);
  app.addHook('onRequest', async (req, reply) => {
    const token = (req.query as Record<string, unknown>).api_token;
    if (token !== apiToken) {
      return reply.code(401).send({ error: { code: 'unauthorized', message: 'Invalid or missing API token' } });
    }
    requests++;
    return undefined;
  });

  const now = () => new Date().toISOString();
  const fail = (reply: FastifyReply, status: number, code: string, message: string) =>
    reply.code(status).send({ error: { code, message } });

  const toResponse = (p: ActivePlatformSandboxPayment) => ({
    id: p.id,
    document_id: p.documentId,
    status: p.status,
    account_id: p.accountId,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
    // Exact decimal -> JSON number (<= 15 significant digits round-trips through a double).
    total: Number(minorToMajorString(p.totalMinor, p.currency)),
    comment: p.comment,
    requester_ip: p.requesterIp,
    manager_id: null,
    payment_method_id: p.paymentMethodId,
    payment_method_name: p.paymentMethodId === null ? null : (PAYMENT_METHOD_NAMES[p.paymentMethodId] ?? 'Other'),
    orders: [],
  });

  const record = (op: ActivePlatformLedgerEntry['op'], p: ActivePlatformSandboxPayment, totalLiteral?: string) => {
    // The payment as it is after the write, under the ledger's names.
    const { id: paymentId, accountId, status, currency, totalMinor, comment, paymentMethodId, updatedAt: at } = p;
    const literal = totalLiteral === undefined ? {} : { totalLiteral };
    const entry = { op, paymentId, accountId, status, currency, totalMinor, ...literal, comment, paymentMethodId, at };
    ledger.add({ seq: ledger.size + 1, ...entry });
  };

  const paymentId = (req: FastifyRequest): number | undefined => {
    const raw = (req.params as { id?: string }).id ?? '';
    return /^\d+$/.test(raw) ? Number(raw) : undefined;
  };

  app.post(`${API}/payments.json`, async (req, reply) => {
    const body = (req.body ?? {}) as Body;
    const accountId = body.account_id;
    if (typeof accountId !== 'number' || !Number.isSafeInteger(accountId) || accountId <= 0) {
      return fail(reply, 422, 'validation_error', 'account_id must be a positive integer');
    }
    if (typeof body.total !== 'number' || !Number.isFinite(body.total)) {
      return fail(reply, 422, 'validation_error', 'total must be a number');
    }
    if (body.comment !== undefined && body.comment !== null && typeof body.comment !== 'string') {
      return fail(reply, 422, 'validation_error', 'comment must be a string');
    }
    const currency = accountCurrency.get(accountId) ?? defaultCurrency;
    let totalMinor: number;
    try {
      totalMinor = majorToMinor(body.total, currency);
    } catch (err) {
      return fail(reply, 422, 'validation_error', `total: ${(err as Error).message}`);
    }
    if (totalMinor === 0) return fail(reply, 422, 'validation_error', 'total must not be zero');
    const literal = numberLiteral(req, 'total');
    const at = now();
    const id = nextId++;
    const payment: ActivePlatformSandboxPayment = {
      id,
      documentId: `P${String(id).slice(-6).padStart(6, '0')}`,
      status: 'waiting for payment',
      accountId,
      currency,
      totalMinor,
      comment: typeof body.comment === 'string' ? body.comment : '',
      paymentMethodId: null,
      requesterIp: req.ip,
      createdAt: at,
      updatedAt: at,
    };
    payments.set(id, payment);
    record('create', payment, literal);
    return faults.answerWrite(reply, 201, toResponse(payment));
  });

  app.get(`${API}/payments.json`, async (req, reply) => {
    const raw = (req.query as Record<string, unknown>).account_id;
    if (typeof raw !== 'string' || !/^\d+$/.test(raw)) {
      return fail(reply, 422, 'validation_error', 'account_id must be a positive integer');
    }
    const accountId = Number(raw);
    return [...payments.values()].filter((p) => p.accountId === accountId).map(toResponse);
  });

  app.get(`${API}/payments/:id`, async (req, reply) => {
    const raw = (req.params as { id: string }).id;
    const match = /^(\d+)\.json$/.exec(raw);
    const payment = match ? payments.get(Number(match[1])) : undefined;
    if (!payment) return fail(reply, 404, 'not_found', 'Payment not found');
    return toResponse(payment);
  });

  /** The payment of the route, if it may still move out of `waiting for payment`; else the answer is sent. */
  const waitingPayment = (req: FastifyRequest, reply: FastifyReply, verb: string) => {
    const id = paymentId(req);
    const payment = id === undefined ? undefined : payments.get(id);
    if (!payment) return void fail(reply, 404, 'not_found', 'Payment not found');
    if (payment.status === 'waiting for payment') return payment;
    const why = `Payment status is "${payment.status}"; only payments waiting for payment can be ${verb}`;
    return void fail(reply, 422, 'invalid_status', why);
  };

  app.post(`${API}/payments/:id/complete.json`, async (req, reply) => {
    const methodId = ((req.body ?? {}) as Body).payment_method_id;
    const known = paymentId(req);
    if (
      known !== undefined &&
      payments.has(known) &&
      (typeof methodId !== 'number' || !Number.isSafeInteger(methodId) || methodId <= 0)
    ) {
      return fail(reply, 422, 'validation_error', 'payment_method_id must be a positive integer');
    }
    const payment = waitingPayment(req, reply, 'completed');
    if (!payment) return reply;
    payment.status = 'completed';
    payment.paymentMethodId = methodId as number;
    payment.updatedAt = now();
    record('complete', payment);
    return faults.answerWrite(reply, 200, toResponse(payment));
  });

  app.post(`${API}/payments/:id/cancel.json`, async (req, reply) => {
    const payment = waitingPayment(req, reply, 'cancelled');
    if (!payment) return reply;
    payment.status = 'cancelled';
    payment.updatedAt = now();
    record('cancel', payment);
    return faults.answerWrite(reply, 200, toResponse(payment));
  });

  app.setNotFoundHandler((_req, reply) => fail(reply, 404, 'not_found', 'Route not found'));

  const baseUrl = await listen(app, options);

  return {
    baseUrl,
    apiToken,
    ...faultControls(app, faults),
    ledger: () => ledger.list(),
    payments: () => [...payments.values()].map((p) => ({ ...p })),
    payment: (id) => {
      const found = payments.get(id);
      return found && { ...found };
    },
    setAccountCurrency(accountId, currency) {
      currencyExponent(currency);
      accountCurrency.set(accountId, currency.toUpperCase());
    },
    setPaymentStatus(id, status) {
      const p = payments.get(id);
      if (!p) throw new Error(`ActivePlatform sandbox: no payment ${id}`);
      if (!STATUSES.includes(status)) throw new Error(`ActivePlatform sandbox: unknown status ${status}`);
      p.status = status;
      p.updatedAt = now();
    },
    requestCount: () => requests,
  };
}
