/**
 * ActivePlatform v1 vendor API sandbox: an in-memory Fastify server that behaves like the endpoints in seed 003,
 * for tests, `npm start` and benchmarks.
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
import { type AddressInfo } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { currencyExponent, majorToMinor, minorToMajorString } from '../../domain/money';

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
  const ledger: ActivePlatformLedgerEntry[] = [];
  const rawBodies = new WeakMap<object, string>();
  const hanging = new Set<FastifyReply>();
  let nextId = 2_007_041;
  let failures: { remaining: number; status: number } = { remaining: 0, status: 500 };
  let hangNextWrite = false;
  let requests = 0;

  const app = Fastify({ logger: false, forceCloseConnections: true });

  // Keep the raw body so the ledger can show the `total` literal exactly as sent.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    rawBodies.set(req.raw, text);
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch {
      const err = Object.assign(new Error('Malformed JSON body'), { statusCode: 400 });
      done(err, undefined);
    }
  });

  app.setErrorHandler((err: { statusCode?: number; message?: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    return reply
      .code(status)
      .send({ error: { code: status === 500 ? 'internal_error' : 'bad_request', message: err.message } });
  });

  app.addHook('onRequest', async (req, reply) => {
    if (failures.remaining > 0) {
      failures.remaining--;
      return reply
        .code(failures.status)
        .send({ error: { code: 'internal_error', message: 'Injected failure (sandbox failNext)' } });
    }
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
    ledger.push({
      seq: ledger.length + 1,
      op,
      paymentId: p.id,
      accountId: p.accountId,
      status: p.status,
      currency: p.currency,
      totalMinor: p.totalMinor,
      ...(totalLiteral === undefined ? {} : { totalLiteral }),
      comment: p.comment,
      paymentMethodId: p.paymentMethodId,
      at: p.updatedAt,
    });
  };

  /** Answer a write, unless `commitThenTimeout` asked us to swallow the answer. */
  const answerWrite = (reply: FastifyReply, status: number, payload: unknown) => {
    if (hangNextWrite) {
      hangNextWrite = false;
      hanging.add(reply);
      reply.hijack();
      return reply;
    }
    return reply.code(status).send(payload);
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
    const raw = rawBodies.get(req.raw) ?? '';
    const literal = /"total"\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(raw)?.[1];
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
    return answerWrite(reply, 201, toResponse(payment));
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

  app.post(`${API}/payments/:id/complete.json`, async (req, reply) => {
    const id = paymentId(req);
    const payment = id === undefined ? undefined : payments.get(id);
    if (!payment) return fail(reply, 404, 'not_found', 'Payment not found');
    const methodId = ((req.body ?? {}) as Body).payment_method_id;
    if (typeof methodId !== 'number' || !Number.isSafeInteger(methodId) || methodId <= 0) {
      return fail(reply, 422, 'validation_error', 'payment_method_id must be a positive integer');
    }
    if (payment.status !== 'waiting for payment') {
      return fail(
        reply,
        422,
        'invalid_status',
        `Payment status is "${payment.status}"; only payments waiting for payment can be completed`,
      );
    }
    payment.status = 'completed';
    payment.paymentMethodId = methodId;
    payment.updatedAt = now();
    record('complete', payment);
    return answerWrite(reply, 200, toResponse(payment));
  });

  app.post(`${API}/payments/:id/cancel.json`, async (req, reply) => {
    const id = paymentId(req);
    const payment = id === undefined ? undefined : payments.get(id);
    if (!payment) return fail(reply, 404, 'not_found', 'Payment not found');
    if (payment.status !== 'waiting for payment') {
      return fail(
        reply,
        422,
        'invalid_status',
        `Payment status is "${payment.status}"; only payments waiting for payment can be cancelled`,
      );
    }
    payment.status = 'cancelled';
    payment.updatedAt = now();
    record('cancel', payment);
    return answerWrite(reply, 200, toResponse(payment));
  });

  app.setNotFoundHandler((_req, reply) => fail(reply, 404, 'not_found', 'Route not found'));

  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    baseUrl: `http://${host}:${address.port}`,
    apiToken,
    async close() {
      for (const reply of hanging) reply.raw.destroy();
      hanging.clear();
      await app.close();
    },
    ledger: () => ledger.map((e) => ({ ...e })),
    payments: () => [...payments.values()].map((p) => ({ ...p })),
    payment: (id) => {
      const p = payments.get(id);
      return p ? { ...p } : undefined;
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
    failNext(n, status = 500) {
      failures = { remaining: n, status };
    },
    commitThenTimeout() {
      hangNextWrite = true;
    },
    requestCount: () => requests,
  };
}
